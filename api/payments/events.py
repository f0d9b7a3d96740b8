"""Handling verified Stripe events, exactly once per event id.

The event id is inserted into webhook_events in the same transaction as its effect
(``INSERT ... ON CONFLICT (event_id) DO NOTHING``): a redelivered or replayed event finds its row and
changes nothing, and two concurrent deliveries of one event serialise on the unique index.

- ``payment_intent.succeeded``: the booking named in the intent's metadata is confirmed if it is still
  pending and the amount is its total (a payment made outside ``/pay``, or one whose response was lost);
  if the booking was released meanwhile (expired, declined, cancelled) without this money ever counting
  for it, the payment is refunded in full: nobody pays for a car they do not get;
- ``payment_intent.payment_failed``: the failure is recorded on the booking and in payments;
- anything else is stored and acknowledged.
"""
from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from api.bookings import repository as repo
from api.bookings.service import SYSTEM, Transition, apply_transition
from api.bookings.states import RELEASED, BookingStatus
from api.db import Conn
from api.payments.gateway import StripeGateway
from api.payments.webhooks import WebhookEvent
from exporters import instruments


async def handle_event(conn: Conn, event: WebhookEvent, gateway: StripeGateway) -> tuple[str, Transition | None]:
    """Apply one event; returns ("processed" | "duplicate" | "ignored", the transition it caused).

    A failed refund call (PaymentProviderError) rolls everything back, event id included, so Stripe's
    redelivery tries again."""
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO webhook_events (event_id, event_type, payload) VALUES (%s, %s, %s) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id",
            (event.id, event.type, Jsonb(event.payload)),
        )
        if await cur.fetchone() is None:
            return "duplicate", None
        outcome, transition = "ignored", None
        if event.type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            booking = await _locked_booking_of(conn, event.object)
            if booking is not None:
                outcome = "processed"
                if event.type == "payment_intent.succeeded":
                    transition = await _succeeded(conn, booking, event.object, gateway)
                else:
                    await _failed(conn, booking, event.object)
        await conn.execute("UPDATE webhook_events SET processed_at = now() WHERE event_id = %s", (event.id,))
    return outcome, transition


def _booking_id_of(intent: dict[str, Any]) -> int | None:
    raw = (intent.get("metadata") or {}).get("booking_id")
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


async def _locked_booking_of(conn: Conn, intent: dict[str, Any]) -> dict[str, Any] | None:
    booking_id = _booking_id_of(intent)
    if booking_id is None:
        cur = await conn.execute("SELECT id FROM bookings WHERE payment_intent_id = %s", (intent.get("id"),))
        row = await cur.fetchone()
        booking_id = row["id"] if row else None
    return await repo.lock_booking(conn, booking_id) if booking_id is not None else None


async def _succeeded(conn: Conn, booking: dict[str, Any], intent: dict[str, Any],
                     gateway: StripeGateway) -> Transition | None:
    await repo.record_payment(conn, booking_id=booking["id"], kind="charge", provider_id=str(intent["id"]),
                              amount_cents=int(intent.get("amount") or 0), currency=booking["currency"],
                              status="succeeded", idempotency_key=None)
    if booking["status"] in RELEASED and booking["payment_status"] not in ("succeeded", "refunded"):
        await _refund_orphan(conn, booking, intent, gateway)
        return None
    if booking["status"] != BookingStatus.PENDING or intent.get("amount") != booking["total_cents"]:
        return None  # already confirmed by /pay, or not a payment of this booking's price
    instruments.payment("succeeded")
    return await apply_transition(conn, booking, BookingStatus.CONFIRMED, SYSTEM, note="payment webhook",
                                  payment_intent_id=intent["id"], payment_status="succeeded")


async def _failed(conn: Conn, booking: dict[str, Any], intent: dict[str, Any]) -> None:
    await repo.record_payment(conn, booking_id=booking["id"], kind="charge", provider_id=str(intent["id"]),
                              amount_cents=int(intent.get("amount") or 0), currency=booking["currency"],
                              status="failed", idempotency_key=None)
    if booking["status"] == BookingStatus.PENDING and booking["payment_status"] != "succeeded":
        await repo.update_booking(conn, booking["id"], payment_status="failed")


async def _refund_orphan(conn: Conn, booking: dict[str, Any], intent: dict[str, Any],
                         gateway: StripeGateway) -> None:
    key = f"booking-{booking['id']}-orphan-{intent['id']}"
    refund = await gateway.refund(intent_id=str(intent["id"]), amount_cents=int(intent["amount"]),
                                  idempotency_key=key, metadata={"booking_id": str(booking["id"])})
    await repo.record_payment(conn, booking_id=booking["id"], kind="refund", provider_id=refund.refund_id,
                              amount_cents=refund.amount_cents, currency=booking["currency"], status=refund.status,
                              idempotency_key=key)
    await repo.update_booking(conn, booking["id"], payment_status="refunded", refund_id=refund.refund_id,
                              refund_cents=refund.amount_cents, refund_pct=100)
    instruments.payment("refunded")
