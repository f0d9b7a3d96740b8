"""Helpers for the booking and payment tests: island dates, booking and paying through the API."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.api.support import ApiUser

WEBHOOK_SECRET = "whsec_bookings_test_secret"
VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
DECLINED = {"number": "4000000000000341", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
NASSAU = ZoneInfo("America/Nassau")


def island_today() -> dt.date:
    return dt.datetime.now(NASSAU).date()


def days(offset: int) -> str:
    """An ISO date ``offset`` days from today on Nassau's clock."""
    return (island_today() + dt.timedelta(days=offset)).isoformat()


def stay(vehicle: dict[str, Any], start_in: int = 10, nights: int = 3, **extra: Any) -> dict[str, Any]:
    return {"vehicle_id": vehicle["id"], "start_date": days(start_in), "end_date": days(start_in + nights), **extra}


async def book(client: httpx.AsyncClient, renter: ApiUser, vehicle: dict[str, Any], start_in: int = 10,
               nights: int = 3, **extra: Any) -> dict[str, Any]:
    """Create a booking and return its body (asserting 201)."""
    resp = await client.post("/v1/bookings", json=stay(vehicle, start_in, nights, **extra), headers=renter.headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def pay(client: httpx.AsyncClient, renter: ApiUser, booking_id: int,
              card: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post(f"/v1/bookings/{booking_id}/pay", json={"card": card or VISA},
                             headers=renter.headers)


async def paid_booking(client: httpx.AsyncClient, renter: ApiUser, vehicle: dict[str, Any],
                       start_in: int = 10, nights: int = 3) -> dict[str, Any]:
    booking = await book(client, renter, vehicle, start_in, nights)
    resp = await pay(client, renter, booking["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "confirmed"
    return resp.json()


def assert_error(resp: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is an error envelope with ``status`` (naming ``field`` when given); returns it."""
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    if field is not None:
        assert field in [f["field"] for f in error["fields"]], error
    return error


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A webhook body and headers signed the way Stripe does (t=..., v1=HMAC-SHA256)."""
    body = json.dumps(event).encode()
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={at},v1={mac}", "Content-Type": "application/json"}


def intent_event(event_id: str, kind: str, booking: dict[str, Any], amount: int | None = None) -> dict[str, Any]:
    intent = {"id": f"pi_{event_id}", "object": "payment_intent",
              "amount": booking["price"]["total_cents"] if amount is None else amount, "currency": "usd",
              "status": "succeeded" if kind.endswith("succeeded") else "requires_payment_method",
              "metadata": {"booking_id": str(booking["id"])}}
    return {"id": event_id, "object": "event", "type": kind, "created": int(time.time()),
            "data": {"object": intent}}
