"""What renters and hosts do to an existing booking: cancel (with the refund), approve, decline,
check in and check out. Each function expects the booking row locked by the caller's transaction.

A cancellation of a paid booking refunds through Stripe *while the row is locked*: if Stripe fails,
the transaction rolls back and the booking stays confirmed (502 to the client, who may retry; the
idempotency key ``booking-<id>-refund`` makes the retry safe). The cost is one pooled connection held
for the duration of the Stripe call (bounded by ``api.payments.gateway.HTTP_TIMEOUT_S``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from api.bookings import repository as repo
from api.bookings.refunds import pickup_at, refund_cents, refund_pct
from api.bookings.service import Actor, Transition, apply_transition
from api.bookings.states import BookingStatus, TransitionNotAllowed, check_transition
from api.db import Conn
from api.errors import APIError
from api.payments.gateway import StripeGateway
from exporters import instruments


def require_role_on(actor: Actor, *roles: str) -> None:
    """403 unless the caller acts on this booking in one of ``roles`` (admins may do anything)."""
    if actor.role not in roles and actor.role != "admin":
        raise APIError(403, f"only the {' or '.join(roles)} of this booking may do this")


async def cancel(conn: Conn, booking: dict[str, Any], actor: Actor, gateway: StripeGateway, *,
                 reason: str | None, now: dt.datetime | None = None) -> Transition:
    """Cancel a pending or confirmed booking, refunding a paid one by the refund table."""
    require_role_on(actor, "renter", "host")
    check_transition(booking["status"], BookingStatus.CANCELLED)
    now = now or dt.datetime.now(dt.UTC)
    pct: int | None = None
    amount = 0
    refund_id: str | None = None
    if booking["payment_status"] == "succeeded" and booking["payment_intent_id"]:
        pct = refund_pct(actor.role, now, pickup_at(booking["start_date"], booking["timezone"]))
        amount = refund_cents(booking["total_cents"], pct)
        if amount > 0:
            refund_id = await _refund(conn, booking, amount, gateway)
    return await apply_transition(
        conn, booking, BookingStatus.CANCELLED, actor, note=reason,
        cancelled_at=now, cancelled_by=actor.role, cancellation_reason=reason, refund_pct=pct,
        refund_cents=amount, refund_id=refund_id,
        payment_status="refunded" if refund_id else booking["payment_status"],
    )


async def _refund(conn: Conn, booking: dict[str, Any], amount: int, gateway: StripeGateway) -> str:
    key = f"booking-{booking['id']}-refund"
    result = await gateway.refund(intent_id=booking["payment_intent_id"], amount_cents=amount,
                                  idempotency_key=key, metadata={"booking_id": str(booking["id"])})
    await repo.record_payment(conn, booking_id=booking["id"], kind="refund", provider_id=result.refund_id,
                              amount_cents=result.amount_cents, currency=booking["currency"],
                              status=result.status, idempotency_key=key)
    instruments.payment("refunded")
    return result.refund_id


async def approve(conn: Conn, booking: dict[str, Any], actor: Actor) -> None:
    """The host accepts a pending booking (recorded; the booking is confirmed once it is paid)."""
    require_role_on(actor, "host")
    if booking["status"] != BookingStatus.PENDING or booking["approved_at"] is not None:
        # Approving twice, or anything not pending, is a conflict with the current state.
        raise TransitionNotAllowed(BookingStatus(booking["status"]), BookingStatus.PENDING)
    now = dt.datetime.now(dt.UTC)
    await repo.update_booking(conn, booking["id"], approved_at=now)
    await repo.record_event(conn, booking_id=booking["id"], from_status="pending", to_status="pending",
                            actor_id=actor.user_id, actor_role=actor.role, note="approved by host")
    booking["approved_at"] = now


async def decline(conn: Conn, booking: dict[str, Any], actor: Actor, reason: str | None) -> Transition:
    """The host refuses a pending booking (nothing was charged: only pending bookings can be declined)."""
    require_role_on(actor, "host")
    return await apply_transition(conn, booking, BookingStatus.DECLINED, actor, note=reason,
                                  cancellation_reason=reason)


async def check_in(conn: Conn, booking: dict[str, Any], actor: Actor, now: dt.datetime | None = None) -> Transition:
    """The host hands the car over: confirmed → active, not before the start date on the island."""
    require_role_on(actor, "host")
    check_transition(booking["status"], BookingStatus.ACTIVE)
    now = now or dt.datetime.now(dt.UTC)
    start_day = pickup_at(booking["start_date"], booking["timezone"]).replace(hour=0, minute=0)
    if now < start_day:
        raise APIError(409, f"check-in opens on the start date ({booking['start_date'].isoformat()})",
                       code="too_early", extra={"current_status": booking["status"]})
    return await apply_transition(conn, booking, BookingStatus.ACTIVE, actor, note="checked in")


async def check_out(conn: Conn, booking: dict[str, Any], actor: Actor) -> Transition:
    """The host takes the car back: active → completed."""
    require_role_on(actor, "host")
    return await apply_transition(conn, booking, BookingStatus.COMPLETED, actor, note="checked out")
