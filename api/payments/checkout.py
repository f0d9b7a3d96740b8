"""Paying a pending booking: one PaymentIntent, created and confirmed, and the booking confirmed with it.

The booking row stays locked (SELECT ... FOR UPDATE) during the Stripe call, so a double-clicked pay, a
cancellation or the expiry sweeper (which skips locked rows) cannot interleave with it. The idempotency
key is derived from the booking and the attempt number (``booking-<id>-charge-<n>``, n = charge attempts
recorded so far + 1): a retry of the same attempt after a lost response gets Stripe's stored answer
instead of a second charge, while a new attempt after a decline gets a fresh key.

A declined card is recorded (payments row, ``payment_status = 'failed'``) and committed; the route then
answers 402, so the record survives the error response.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from api.bookings import repository as repo
from api.bookings.service import SYSTEM, Actor, Transition, apply_transition
from api.bookings.states import BookingStatus, check_transition
from api.db import Conn
from api.errors import APIError
from api.payments.gateway import PaymentDeclined, StripeGateway
from exporters import instruments


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What one pay request achieved: a transition (confirmed, or expired), and/or the refusal to answer
    once the transaction committed."""

    transition: Transition | None
    payment_status: str
    error: APIError | None = None


def declined_error(exc: PaymentDeclined) -> APIError:
    return APIError(402, f"payment declined: {exc.message}", code=exc.code or "card_declined",
                    fields=[("body.payment_method", exc.message)])


async def pay(conn: Conn, booking: dict[str, Any], actor: Actor, gateway: StripeGateway, *,
              payment_method: str | None, card: dict[str, Any] | None) -> PaymentOutcome:
    """Charge the booking's total and confirm it; a locked pending booking of ``actor`` is expected."""
    if actor.role != "renter":
        raise APIError(403, "only the renter of this booking may pay for it")
    check_transition(booking["status"], BookingStatus.CONFIRMED)
    if booking["expires_at"] is not None and booking["expires_at"] <= dt.datetime.now(dt.UTC):
        # The sweeper has not got to it yet: expire it now rather than take money for a released car.
        expired = await apply_transition(conn, booking, BookingStatus.EXPIRED, SYSTEM, note="payment window over")
        return PaymentOutcome(expired, booking["payment_status"] or "none", APIError(
            409, "booking expired: its payment window is over", code="invalid_transition",
            extra={"current_status": BookingStatus.EXPIRED.value}))
    attempt = await repo.count_charges(conn, booking["id"]) + 1
    key = f"booking-{booking['id']}-charge-{attempt}"
    try:
        if card is not None:
            payment_method = await gateway.create_card_payment_method(card)
        assert payment_method is not None
        result = await gateway.charge(amount_cents=booking["total_cents"], payment_method=payment_method,
                                      idempotency_key=key, metadata={"booking_id": str(booking["id"])})
    except PaymentDeclined as exc:
        provider_id = exc.intent_id or exc.charge_id or f"declined:{key}"
        await _record(conn, booking, provider_id, "failed", key)
        instruments.payment("failed")
        return PaymentOutcome(None, "failed", declined_error(exc))
    await _record(conn, booking, result.intent_id, result.status, key)
    if result.status != "succeeded":
        # 3-D Secure or an asynchronous method: the webhook confirms the booking if it succeeds later.
        await repo.update_booking(conn, booking["id"], payment_intent_id=result.intent_id,
                                  payment_status=result.status)
        return PaymentOutcome(None, result.status, APIError(
            402, f"payment not completed: {result.status}", code=f"payment_{result.status}",
            extra={"payment_intent": result.intent_id, "client_secret": result.client_secret}))
    instruments.payment("succeeded")
    transition = await apply_transition(conn, booking, BookingStatus.CONFIRMED, actor, note="paid",
                                        payment_intent_id=result.intent_id, payment_status="succeeded")
    return PaymentOutcome(transition, "succeeded")


async def _record(conn: Conn, booking: dict[str, Any], provider_id: str, status: str, key: str) -> None:
    await repo.record_payment(conn, booking_id=booking["id"], kind="charge", provider_id=provider_id,
                              amount_cents=booking["total_cents"], currency=booking["currency"], status=status,
                              idempotency_key=key)
    if status == "failed":
        await repo.update_booking(conn, booking["id"], payment_status="failed")
