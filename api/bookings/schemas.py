"""Request and response bodies of the booking and payment endpoints."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.bookings.pricing import SERVICE_FEE_PCT, DeliveryOption

MAX_ID = 2**63 - 1  # bigint: a larger id is a 422, never an overflow inside Postgres


class StayIn(BaseModel):
    """Vehicle, dates ``[start_date, end_date)`` (nights = end - start) and how the car is handed over."""

    model_config = ConfigDict(extra="forbid")

    vehicle_id: int = Field(ge=1, le=MAX_ID)
    start_date: dt.date
    end_date: dt.date
    delivery: DeliveryOption = DeliveryOption.PICKUP


class PriceOut(BaseModel):
    nights: int
    daily_rate_cents: int
    base_cents: int
    discount_pct: int
    discount_cents: int
    delivery: str
    fees_cents: int
    subtotal_cents: int
    service_fee_pct: int
    service_fee_cents: int
    total_cents: int
    security_deposit_cents: int
    currency: str


class QuoteOut(BaseModel):
    vehicle_id: int
    start_date: dt.date
    end_date: dt.date
    available: bool
    price: PriceOut


class VehicleSummary(BaseModel):
    id: int
    make: str
    model: str
    year: int
    island: str


class BookingOut(BaseModel):
    id: int
    status: str
    vehicle: VehicleSummary
    renter_id: int
    host_id: int
    start_date: dt.date
    end_date: dt.date
    price: PriceOut
    payment_status: str | None
    approved: bool
    expires_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancelled_by: str | None
    refund_pct: int | None
    refund_cents: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class BookingPage(BaseModel):
    items: list[BookingOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class EventOut(BaseModel):
    from_status: str | None
    to_status: str
    actor_role: str | None
    note: str | None
    created_at: dt.datetime


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class CardIn(BaseModel):
    """Raw test-card details (dev/test; production clients send a Stripe.js PaymentMethod id)."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(pattern=r"^\d{16}$")
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2099)
    cvc: str = Field(pattern=r"^\d{3}$")


class PayIn(BaseModel):
    """Exactly one of ``payment_method`` (a Stripe PaymentMethod id) or ``card``."""

    model_config = ConfigDict(extra="forbid")

    payment_method: str | None = Field(default=None, pattern=r"^pm_[A-Za-z0-9_]{1,200}$")
    card: CardIn | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PayIn:
        if (self.payment_method is None) == (self.card is None):
            raise ValueError("send exactly one of payment_method or card")
        return self


class PaymentOut(BaseModel):
    kind: str
    provider_id: str
    amount_cents: int
    currency: str
    status: str
    created_at: dt.datetime


def booking_out(row: dict[str, Any]) -> dict[str, Any]:
    """A booking row (``repository.get_booking``) as the BookingOut shape.

    The snapshot stores the service fee amount; the rate shown is the one in force (12 %).
    """
    return {
        "id": row["id"], "status": row["status"],
        "vehicle": {"id": row["vehicle_id"], "make": row["make"], "model": row["model"], "year": row["year"],
                    "island": row["island"]},
        "renter_id": row["renter_id"], "host_id": row["host_id"],
        "start_date": row["start_date"], "end_date": row["end_date"],
        "price": {
            "nights": row["nights"], "daily_rate_cents": row["daily_rate_cents"],
            "base_cents": row["nights"] * row["daily_rate_cents"], "discount_pct": row["discount_pct"],
            "discount_cents": row["discount_cents"], "delivery": row["delivery"], "fees_cents": row["fees_cents"],
            "subtotal_cents": row["subtotal_cents"], "service_fee_pct": SERVICE_FEE_PCT,
            "service_fee_cents": row["service_fee_cents"], "total_cents": row["total_cents"],
            "security_deposit_cents": row["security_deposit_cents"], "currency": row["currency"],
        },
        "payment_status": row["payment_status"], "approved": row["approved_at"] is not None,
        "expires_at": row["expires_at"] if row["status"] == "pending" else None,
        "cancelled_at": row["cancelled_at"], "cancelled_by": row["cancelled_by"],
        "refund_pct": row["refund_pct"], "refund_cents": row["refund_cents"],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }

