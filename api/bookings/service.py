"""Booking use cases: validate and create, who may see a booking, and the one way a status changes.

``apply_transition`` is the only code that changes ``bookings.status``: it checks the status machine,
writes the row and its booking_events entry, and queues the e-mail of a confirmation or cancellation in
the same transaction. The caller must hold the row lock (``repository.lock_booking`` inside
``conn.transaction()``). What should only happen once the transaction committed (metrics, cache
invalidation) is returned as a ``Transition`` and done by ``announce``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from api.bookings import repository as repo
from api.bookings.pricing import DeliveryOption, PriceBreakdown, price
from api.bookings.states import RELEASED, BookingStatus, check_transition
from api.db import Conn
from api.email.outbox import enqueue_email
from api.errors import APIError, field_error
from exporters import instruments

# How far ahead a booking may start: keeps dates sane (and the price of a typo bounded).
MAX_ADVANCE = dt.timedelta(days=2 * 365)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who causes a transition: a user in their role on this booking, or the system (sweeper, webhook)."""

    user_id: int | None
    role: str  # renter | host | admin | system


SYSTEM = Actor(None, "system")


@dataclass(frozen=True, slots=True)
class Transition:
    """A committed status change, for ``announce``."""

    booking_id: int
    vehicle_id: int
    from_status: str
    to_status: str
    total_cents: int


def actor_for(booking: dict[str, Any], user_id: int, role: str) -> Actor | None:
    """The caller's part in ``booking`` (renter, host, or admin), or None when it is not theirs."""
    if booking["renter_id"] == user_id:
        return Actor(user_id, "renter")
    if booking["host_id"] == user_id:
        return Actor(user_id, "host")
    if role == "admin":
        return Actor(user_id, "admin")
    return None


def booking_not_found() -> APIError:
    # Someone else's booking answers exactly like a missing one, so ids cannot be probed.
    return APIError(404, "booking not found")


def island_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """Today's date on the island's clock."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone)).date()


def validate_stay(start: dt.date, end: dt.date, vehicle: dict[str, Any], today: dt.date) -> int:
    """The number of nights of ``[start, end)``, or a 422 naming the field that is wrong."""
    if end <= start:
        raise field_error("body.end_date", "must be after start_date")
    if start < today:
        raise field_error("body.start_date", f"must not be in the past (today is {today.isoformat()} on the island)")
    if start > today + MAX_ADVANCE:
        raise field_error("body.start_date", "must be within two years from today")
    nights = (end - start).days
    if nights < vehicle["min_days"]:
        raise field_error("body.end_date", f"this vehicle is rented for at least {vehicle['min_days']} day(s)")
    if nights > vehicle["max_days"]:
        raise field_error("body.end_date", f"this vehicle is rented for at most {vehicle['max_days']} day(s)")
    return nights


async def bookable_vehicle(conn: Conn, vehicle_id: int) -> dict[str, Any]:
    """The vehicle to quote or book, or a 422 naming ``body.vehicle_id``."""
    vehicle = await repo.vehicle_for_booking(conn, vehicle_id)
    if vehicle is None or not vehicle["listed"]:
        raise field_error("body.vehicle_id", "no listed vehicle with this id")
    return vehicle


async def quote(conn: Conn, vehicle_id: int, start: dt.date, end: dt.date,
                delivery: DeliveryOption) -> tuple[PriceBreakdown, bool]:
    """The price of a stay and whether the vehicle is free for it right now."""
    vehicle = await bookable_vehicle(conn, vehicle_id)
    nights = validate_stay(start, end, vehicle, island_today(vehicle["timezone"]))
    available = await repo.is_available(conn, vehicle_id, start, end)
    return price(repo.rates_of(vehicle), nights, delivery), available


@dataclass(frozen=True, slots=True)
class Created:
    """The outcome of POST /v1/bookings: a new booking (``transition``), or a replay of an earlier one."""

    booking_id: int
    transition: Transition | None

    @property
    def replayed(self) -> bool:
        return self.transition is None


async def create_booking(conn: Conn, *, renter_id: int, vehicle_id: int, start: dt.date, end: dt.date,
                         delivery: DeliveryOption, payment_window: dt.timedelta,
                         idempotency_key: str | None = None) -> Created:
    """Validate, price on the server and insert a pending booking; 409 when the dates are taken.

    With an ``idempotency_key`` already used by this renter for the same request, the booking it created
    is answered again (no second booking, no 409 against oneself); used for another request: 422.
    """
    request = (vehicle_id, start, end, delivery.value)
    if idempotency_key and (earlier := await repo.booking_by_key(conn, renter_id, idempotency_key)):
        return _replay(earlier, request)
    vehicle = await bookable_vehicle(conn, vehicle_id)
    if vehicle["host_id"] == renter_id:
        raise field_error("body.vehicle_id", "you cannot book your own vehicle", status=409)
    nights = validate_stay(start, end, vehicle, island_today(vehicle["timezone"]))
    breakdown = price(repo.rates_of(vehicle), nights, delivery)
    expires_at = dt.datetime.now(dt.UTC) + payment_window
    async with conn.transaction():
        try:
            booking_id = await repo.insert_booking(conn, vehicle=vehicle, renter_id=renter_id, start=start,
                                                   end=end, price=breakdown, expires_at=expires_at,
                                                   idempotency_key=idempotency_key)
        except (repo.VehicleUnavailable, repo.DuplicateIdempotencyKey):
            # A concurrent request with the same key committed first: answer with its booking.
            if idempotency_key and (earlier := await repo.booking_by_key(conn, renter_id, idempotency_key)):
                return _replay(earlier, request)
            raise APIError(409, "vehicle not available for these dates", code="vehicle_unavailable",
                           fields=[("body.start_date", "overlaps another booking of this vehicle")]) from None
        await repo.record_event(conn, booking_id=booking_id, from_status=None, to_status="pending",
                                actor_id=renter_id, actor_role="renter")
    return Created(booking_id, Transition(booking_id, vehicle_id, "new", BookingStatus.PENDING.value,
                                          breakdown.total_cents))


def _replay(earlier: dict[str, Any], request: tuple[Any, ...]) -> Created:
    if (earlier["vehicle_id"], earlier["start_date"], earlier["end_date"], earlier["delivery"]) != request:
        raise field_error("header.Idempotency-Key", "already used for a different booking request")
    return Created(earlier["id"], None)


async def apply_transition(conn: Conn, booking: dict[str, Any], target: BookingStatus, actor: Actor, *,
                           note: str | None = None, **updates: Any) -> Transition:
    """Move a locked booking to ``target`` (TransitionNotAllowed → 409), with its event and e-mail."""
    current = booking["status"]
    check_transition(current, target)
    await repo.update_booking(conn, booking["id"], status=target.value, **updates)
    await repo.record_event(conn, booking_id=booking["id"], from_status=current, to_status=target.value,
                            actor_id=actor.user_id, actor_role=actor.role, note=note)
    booking.update(updates, status=target.value)
    if target in (BookingStatus.CONFIRMED, BookingStatus.CANCELLED):
        await _queue_email(conn, booking, target)
    return Transition(booking["id"], booking["vehicle_id"], current, target.value, booking["total_cents"])


async def _queue_email(conn: Conn, booking: dict[str, Any], target: BookingStatus) -> None:
    renter = await repo.user_contact(conn, booking["renter_id"])
    if renter is None:
        return
    context: dict[str, Any] = {
        "booking_id": booking["id"], "vehicle": f"{booking['year']} {booking['make']} {booking['model']}",
        "start_date": booking["start_date"], "end_date": booking["end_date"], "renter_name": renter["full_name"],
        "island": booking["island"], "currency": booking["currency"].upper(),
    }
    if target is BookingStatus.CONFIRMED:
        template = "booking_confirmed"
        context["total_cents"] = booking["total_cents"]
    else:
        template = "booking_cancelled"
        context["refund_cents"] = booking.get("refund_cents") or 0
        context["cancelled_by"] = booking.get("cancelled_by") or "system"
    await enqueue_email(conn, template=template, to=renter["email"], context=context)


async def announce(transitions: list[Transition], invalidate_vehicle: Any = None) -> None:
    """After commit: count the transitions, book the revenue, drop cached availability of the cars."""
    for t in transitions:
        instruments.booking_transition(t.from_status, t.to_status)
        if t.to_status == BookingStatus.CONFIRMED:
            instruments.booked_revenue(t.total_cents)
        if invalidate_vehicle is not None and (t.to_status in RELEASED or t.from_status == "new"):
            await invalidate_vehicle(t.vehicle_id)
