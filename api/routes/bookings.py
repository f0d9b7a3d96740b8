"""Bookings: quote, create, list, get, cancel; host approve, decline, check-in, check-out.

A booking that does not exist and one that belongs to someone else both answer 404 (never 403), so
booking ids cannot be probed. A transition the status machine does not allow answers 409 with
``error.current_status``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from api.auth.deps import CurrentUser, require_role
from api.auth.tokens import Principal
from api.bookings import actions, service
from api.bookings import repository as repo
from api.bookings.http import after_commit, domain_errors, locked_for
from api.bookings.schemas import (
    MAX_ID,
    BookingOut,
    BookingPage,
    EventOut,
    QuoteOut,
    ReasonIn,
    StayIn,
    booking_out,
)
from api.bookings.service import Actor, Transition
from api.bookings.states import BookingStatus
from api.db import DbConn
from api.errors import ErrorEnvelope, field_error
from api.payments.deps import Gateway

router = APIRouter(prefix="/v1/bookings", tags=["bookings"],
                   responses={401: {"model": ErrorEnvelope}, 404: {"model": ErrorEnvelope},
                              409: {"model": ErrorEnvelope}, 422: {"model": ErrorEnvelope}})

BookingId = Annotated[int, Path(ge=1, le=MAX_ID, description="booking id")]
Renter = Annotated[Principal, Depends(require_role("renter"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                              pattern=r"^[\x21-\x7e]+$")]


async def _answer(conn: DbConn, booking_id: int) -> dict:
    row = await repo.get_booking(conn, booking_id)
    assert row is not None  # it was just read under lock by this request
    return booking_out(row)


Act = Callable[[dict[str, Any], Actor], Awaitable[Transition]]


async def _transition(conn: DbConn, request: Request, booking_id: int, user: Principal, act: Act) -> dict:
    """Lock the booking, run ``act`` on it in one transaction, then (committed) announce it and answer."""
    with domain_errors():
        async with conn.transaction():
            booking, actor = await locked_for(conn, booking_id, user.user_id, user.role)
            transition = await act(booking, actor)
    await after_commit(request, transition)
    return await _answer(conn, booking_id)


@router.post("/quote", response_model=QuoteOut)
async def quote(body: StayIn, conn: DbConn) -> dict:
    """The server's price for a stay (no account needed), and whether the car is free right now."""
    breakdown, available = await service.quote(conn, body.vehicle_id, body.start_date, body.end_date,
                                               body.delivery)
    return {"vehicle_id": body.vehicle_id, "start_date": body.start_date, "end_date": body.end_date,
            "available": available, "price": breakdown.as_dict()}


@router.post("", status_code=201, response_model=BookingOut)
async def create(body: StayIn, user: Renter, conn: DbConn, request: Request, response: Response,
                 idempotency_key: IdempotencyKey = None) -> dict:
    """Book a car (renters): a pending booking with the price computed here; pay it with /pay.

    Send an ``Idempotency-Key`` to make retries safe: the same key and body answer the booking already
    created (with ``Idempotent-Replayed: true``) instead of a 409 against it."""
    window = dt.timedelta(seconds=request.app.state.settings.booking_payment_window_s)
    created = await service.create_booking(conn, renter_id=user.user_id, vehicle_id=body.vehicle_id,
                                           start=body.start_date, end=body.end_date, delivery=body.delivery,
                                           payment_window=window, idempotency_key=idempotency_key)
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    await after_commit(request, created.transition)
    return await _answer(conn, created.booking_id)


def _cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise field_error("query.cursor", "invalid cursor", status=400)
    return int(raw)


@router.get("", response_model=BookingPage)
async def list_mine(user: CurrentUser, conn: DbConn,
                    role: Annotated[str | None, Query(pattern="^(renter|host)$",
                                                      description="only as renter / only as host")] = None,
                    status: BookingStatus | None = None,
                    limit: Annotated[int, Query(ge=1, le=50)] = 20,
                    cursor: Annotated[str | None, Query(max_length=20)] = None) -> dict:
    """The caller's bookings (as renter and as host), newest first, paged with ``next_cursor``."""
    rows = await repo.list_bookings(conn, user_id=user.user_id, as_role=role,
                                    status=status.value if status else None,
                                    before_id=_cursor(cursor), limit=limit + 1)
    page = rows[:limit]
    next_cursor = str(page[-1]["id"]) if len(rows) > limit else None
    return {"items": [booking_out(r) for r in page], "next_cursor": next_cursor}


@router.get("/{booking_id}", response_model=BookingOut)
async def get_one(booking_id: BookingId, user: CurrentUser, conn: DbConn) -> dict:
    """One booking, for its renter or host (404 for anyone else)."""
    row = await repo.get_booking(conn, booking_id)
    if row is None or service.actor_for(row, user.user_id, user.role) is None:
        raise service.booking_not_found()
    return booking_out(row)


@router.get("/{booking_id}/events", response_model=list[EventOut])
async def events(booking_id: BookingId, user: CurrentUser, conn: DbConn) -> list[dict]:
    """The booking's status history, oldest first (renter or host only)."""
    row = await repo.get_booking(conn, booking_id)
    if row is None or service.actor_for(row, user.user_id, user.role) is None:
        raise service.booking_not_found()
    return await repo.events_of(conn, booking_id)


@router.post("/{booking_id}/cancel", response_model=BookingOut)
async def cancel(booking_id: BookingId, user: CurrentUser, conn: DbConn, request: Request, gateway: Gateway,
                 body: ReasonIn | None = None) -> dict:
    """Cancel (renter or host). A paid booking is refunded: host 100 %; renter 100 % at least 24 h
    before the pick-up, 50 % within 24 h, 0 after it."""
    reason = body.reason if body else None
    return await _transition(conn, request, booking_id, user,
                             lambda booking, actor: actions.cancel(conn, booking, actor, gateway, reason=reason))


@router.post("/{booking_id}/approve", response_model=BookingOut)
async def approve(booking_id: BookingId, user: CurrentUser, conn: DbConn) -> dict:
    """The host accepts a pending booking (it is confirmed when paid)."""
    with domain_errors():
        async with conn.transaction():
            booking, actor = await locked_for(conn, booking_id, user.user_id, user.role)
            await actions.approve(conn, booking, actor)
    return await _answer(conn, booking_id)


@router.post("/{booking_id}/decline", response_model=BookingOut)
async def decline(booking_id: BookingId, user: CurrentUser, conn: DbConn, request: Request,
                  body: ReasonIn | None = None) -> dict:
    """The host refuses a pending booking; the dates become free again."""
    reason = body.reason if body else None
    return await _transition(conn, request, booking_id, user,
                             lambda booking, actor: actions.decline(conn, booking, actor, reason))


@router.post("/{booking_id}/check-in", response_model=BookingOut)
async def check_in(booking_id: BookingId, user: CurrentUser, conn: DbConn, request: Request) -> dict:
    """The host hands the car over (confirmed → active), from the start date on."""
    return await _transition(conn, request, booking_id, user,
                             lambda booking, actor: actions.check_in(conn, booking, actor))


@router.post("/{booking_id}/check-out", response_model=BookingOut)
async def check_out(booking_id: BookingId, user: CurrentUser, conn: DbConn, request: Request) -> dict:
    """The host takes the car back (active → completed)."""
    return await _transition(conn, request, booking_id, user,
                             lambda booking, actor: actions.check_out(conn, booking, actor))
