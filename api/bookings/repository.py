"""The SQL of bookings: reading vehicles to price, inserting bookings, locking, transitions, events.

Every function takes the caller's connection; callers that change a booking run inside
``async with conn.transaction():`` and lock the row first with ``lock_booking`` (SELECT ... FOR UPDATE),
so two concurrent transitions of one booking serialise and the second sees the first's result.
Connections return dict rows (``api.db``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import errors as pg_errors

from api.bookings.pricing import PriceBreakdown, VehicleRates
from api.db import Conn

# The columns a booking is answered with: the row, its vehicle summary and the island's clock.
_BOOKING_SELECT = """
    SELECT b.id, b.vehicle_id, b.renter_id, b.host_id, b.status, b.start_date, b.end_date, b.delivery,
           b.nights, b.daily_rate_cents, b.subtotal_cents, b.discount_pct, b.discount_cents, b.fees_cents,
           b.service_fee_cents, b.total_cents, b.security_deposit_cents, b.currency, b.payment_intent_id,
           b.payment_status, b.cancelled_at, b.cancelled_by, b.cancellation_reason, b.refund_pct,
           b.refund_cents, b.refund_id, b.expires_at, b.approved_at, b.created_at, b.updated_at,
           v.make, v.model, v.year, i.slug AS island, i.timezone
      FROM bookings b
      JOIN vehicles v ON v.id = b.vehicle_id
      JOIN islands i ON i.id = v.island_id
"""


class VehicleUnavailable(Exception):
    """The exclusion constraint refused the booking: the car is already booked on overlapping dates."""


class DuplicateIdempotencyKey(Exception):
    """The renter already created a booking with this Idempotency-Key."""


async def vehicle_for_booking(conn: Conn, vehicle_id: int) -> dict[str, Any] | None:
    """The fields needed to validate and price a booking of ``vehicle_id`` (None if it does not exist)."""
    cur = await conn.execute(
        """
        SELECT v.id, v.host_id, v.listed, v.min_days, v.max_days, v.daily_rate_cents, v.weekly_discount_pct,
               v.monthly_discount_pct, v.delivery_fee_cents, v.airport_fee_cents, v.security_deposit_cents,
               v.make, v.model, v.year, i.slug AS island, i.timezone
          FROM vehicles v JOIN islands i ON i.id = v.island_id
         WHERE v.id = %s
        """,
        (vehicle_id,),
    )
    return await cur.fetchone()


def rates_of(vehicle: dict[str, Any]) -> VehicleRates:
    """The pricing fields of a vehicle row."""
    return VehicleRates(
        daily_rate_cents=vehicle["daily_rate_cents"], weekly_discount_pct=vehicle["weekly_discount_pct"],
        monthly_discount_pct=vehicle["monthly_discount_pct"], delivery_fee_cents=vehicle["delivery_fee_cents"],
        airport_fee_cents=vehicle["airport_fee_cents"], security_deposit_cents=vehicle["security_deposit_cents"],
    )


async def is_available(conn: Conn, vehicle_id: int, start: dt.date, end: dt.date) -> bool:
    """True when no live booking of the vehicle overlaps ``[start, end)`` (a hint; the constraint decides)."""
    cur = await conn.execute(
        """
        SELECT NOT EXISTS (
            SELECT 1 FROM bookings
             WHERE vehicle_id = %s AND period && daterange(%s, %s, '[)')
               AND status NOT IN ('cancelled', 'declined', 'expired')) AS free
        """,
        (vehicle_id, start, end),
    )
    row = await cur.fetchone()
    return bool(row and row["free"])


async def insert_booking(conn: Conn, *, vehicle: dict[str, Any], renter_id: int, start: dt.date, end: dt.date,
                         price: PriceBreakdown, expires_at: dt.datetime, idempotency_key: str | None) -> int:
    """Insert a pending booking with its price snapshot; raise VehicleUnavailable on an overlap (23P01),
    DuplicateIdempotencyKey when the renter's key is taken (23505)."""
    try:
        async with conn.transaction():  # a savepoint when the caller already opened a transaction
            cur = await conn.execute(
                """
                INSERT INTO bookings (vehicle_id, renter_id, host_id, start_date, end_date, delivery, nights,
                                      daily_rate_cents, subtotal_cents, discount_pct, discount_cents, fees_cents,
                                      service_fee_cents, total_cents, security_deposit_cents, currency,
                                      expires_at, idempotency_key)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                RETURNING id
                """,
                (vehicle["id"], renter_id, vehicle["host_id"], start, end, price.delivery, price.nights,
                 price.daily_rate_cents, price.subtotal_cents, price.discount_pct, price.discount_cents,
                 price.fees_cents, price.service_fee_cents, price.total_cents, price.security_deposit_cents,
                 price.currency, expires_at, idempotency_key),
            )
            row = await cur.fetchone()
    except pg_errors.ExclusionViolation:
        raise VehicleUnavailable() from None
    except pg_errors.UniqueViolation:
        raise DuplicateIdempotencyKey() from None
    assert row is not None
    return int(row["id"])


async def booking_by_key(conn: Conn, renter_id: int, idempotency_key: str) -> dict[str, Any] | None:
    """The renter's booking created with ``idempotency_key``, if any (what it was created from)."""
    cur = await conn.execute(
        "SELECT id, vehicle_id, start_date, end_date, delivery FROM bookings "
        "WHERE renter_id = %s AND idempotency_key = %s", (renter_id, idempotency_key))
    return await cur.fetchone()


async def get_booking(conn: Conn, booking_id: int) -> dict[str, Any] | None:
    """One booking with its vehicle summary, without locking."""
    cur = await conn.execute(_BOOKING_SELECT + " WHERE b.id = %s", (booking_id,))
    return await cur.fetchone()


async def lock_booking(conn: Conn, booking_id: int) -> dict[str, Any] | None:
    """One booking, row-locked until the caller's transaction ends (SELECT ... FOR UPDATE OF b)."""
    cur = await conn.execute(_BOOKING_SELECT + " WHERE b.id = %s FOR UPDATE OF b", (booking_id,))
    return await cur.fetchone()


# Which side of the booking the caller is on: fixed fragments, so each shape gets an index-backed plan
# (renter_id / host_id indexes; both sides = a BitmapOr of the two).
_PARTY = {
    "renter": "b.renter_id = %(user)s",
    "host": "b.host_id = %(user)s",
    None: "(b.renter_id = %(user)s OR b.host_id = %(user)s)",
}


async def list_bookings(conn: Conn, *, user_id: int, as_role: str | None, status: str | None,
                        before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """The user's bookings as renter and/or host, newest first, keyset-paged by id."""
    cur = await conn.execute(
        _BOOKING_SELECT + f"""
         WHERE {_PARTY[as_role]}
           AND (%(status)s::text IS NULL OR b.status = %(status)s)
           AND (%(before)s::bigint IS NULL OR b.id < %(before)s)
         ORDER BY b.id DESC
         LIMIT %(limit)s
        """,
        {"user": user_id, "status": status, "before": before_id, "limit": limit},
    )
    return await cur.fetchall()


async def update_booking(conn: Conn, booking_id: int, **fields: Any) -> None:
    """Set columns of one booking (names come from code, never from a request) and bump updated_at."""
    if not fields:
        return
    assignments = ", ".join(f"{name} = %({name})s" for name in fields)
    await conn.execute(f"UPDATE bookings SET {assignments}, updated_at = now() WHERE id = %(_id)s",
                       {**fields, "_id": booking_id})


async def record_event(conn: Conn, *, booking_id: int, from_status: str | None, to_status: str,
                       actor_id: int | None, actor_role: str, note: str | None = None) -> None:
    """Append one row to booking_events (the booking's audit trail)."""
    await conn.execute(
        """
        INSERT INTO booking_events (booking_id, from_status, to_status, actor_id, actor_role, note)
        VALUES (%s, %s, %s, %s, %s, %s)
        """,
        (booking_id, from_status, to_status, actor_id, actor_role, note),
    )


async def events_of(conn: Conn, booking_id: int) -> list[dict[str, Any]]:
    """The booking's events, oldest first."""
    cur = await conn.execute(
        "SELECT from_status, to_status, actor_role, note, created_at FROM booking_events "
        "WHERE booking_id = %s ORDER BY id", (booking_id,))
    return await cur.fetchall()


async def user_contact(conn: Conn, user_id: int) -> dict[str, Any] | None:
    """E-mail address and name of a user (for the booking e-mails)."""
    cur = await conn.execute("SELECT email, full_name FROM users WHERE id = %s", (user_id,))
    return await cur.fetchone()


async def count_charges(conn: Conn, booking_id: int) -> int:
    """How many charge attempts were recorded for the booking (numbers the idempotency keys)."""
    cur = await conn.execute("SELECT count(*) AS n FROM payments WHERE booking_id = %s AND kind = 'charge'",
                             (booking_id,))
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def record_payment(conn: Conn, *, booking_id: int, kind: str, provider_id: str, amount_cents: int,
                         currency: str, status: str, idempotency_key: str | None) -> None:
    """Insert or update one payments row (charge or refund), keyed by the provider's id."""
    await conn.execute(
        """
        INSERT INTO payments (booking_id, kind, provider_id, amount_cents, currency, status, idempotency_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (provider_id) DO UPDATE SET status = EXCLUDED.status, updated_at = now()
        """,
        (booking_id, kind, provider_id, amount_cents, currency, status, idempotency_key),
    )
