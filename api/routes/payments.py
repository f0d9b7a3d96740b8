"""Paying for a booking (POST /v1/bookings/{id}/pay) and its payment history."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.auth.deps import CurrentUser
from api.bookings import repository as repo
from api.bookings.http import after_commit, domain_errors, locked_for
from api.bookings.schemas import MAX_ID, BookingOut, PayIn, PaymentOut, booking_out
from api.bookings.service import actor_for, booking_not_found
from api.db import DbConn
from api.errors import ErrorEnvelope
from api.payments import checkout
from api.payments.deps import Gateway

router = APIRouter(prefix="/v1/bookings", tags=["payments"],
                   responses={401: {"model": ErrorEnvelope}, 402: {"model": ErrorEnvelope},
                              404: {"model": ErrorEnvelope}, 409: {"model": ErrorEnvelope},
                              502: {"model": ErrorEnvelope}})

BookingId = Annotated[int, Path(ge=1, le=MAX_ID, description="booking id")]


@router.post("/{booking_id}/pay", response_model=BookingOut)
async def pay(booking_id: BookingId, body: PayIn, user: CurrentUser, conn: DbConn, request: Request,
              gateway: Gateway) -> dict:
    """The renter pays the booking's total: a confirmed PaymentIntent; on success the booking is
    confirmed. A declined card answers 402 (``error.code`` card_declined) and the booking stays pending."""
    card = body.card.model_dump() if body.card else None
    with domain_errors():
        async with conn.transaction():
            booking, actor = await locked_for(conn, booking_id, user.user_id, user.role)
            outcome = await checkout.pay(conn, booking, actor, gateway, payment_method=body.payment_method,
                                         card=card)
    await after_commit(request, outcome.transition)
    if outcome.error is not None:
        raise outcome.error  # after commit: a declined attempt or an expiry stays recorded
    row = await repo.get_booking(conn, booking_id)
    assert row is not None
    return booking_out(row)


@router.get("/{booking_id}/payments", response_model=list[PaymentOut])
async def payments_of(booking_id: BookingId, user: CurrentUser, conn: DbConn) -> list[dict]:
    """Charges and refunds of a booking, oldest first (renter or host only)."""
    booking = await repo.get_booking(conn, booking_id)
    if booking is None or actor_for(booking, user.user_id, user.role) is None:
        raise booking_not_found()
    cur = await conn.execute(
        "SELECT kind, provider_id, amount_cents, currency, status, created_at FROM payments "
        "WHERE booking_id = %s ORDER BY id", (booking_id,))
    return await cur.fetchall()
