"""The periodic sweeper: moves bookings along by the clock.

- pending and not paid by ``expires_at`` → expired (the car is free again);
- confirmed and the pick-up time has come → active;
- active and the return time has come → completed.

Pick-up and return are at ``api.bookings.refunds.PICKUP_TIME``/``RETURN_TIME`` on the island's clock.
Rows are claimed with ``FOR UPDATE SKIP LOCKED``: a booking being paid or cancelled right now (its row
locked) is left for the next pass, and several API processes can sweep at once without doubling work.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from psycopg_pool import AsyncConnectionPool

from api.bookings import repository as repo
from api.bookings.refunds import PICKUP_TIME, RETURN_TIME
from api.bookings.service import SYSTEM, Transition, announce, apply_transition
from api.bookings.states import BookingStatus
from api.db import Conn

log = logging.getLogger("api.bookings.sweeper")
BATCH = 200  # rows per status per pass: bounds one transaction; the next pass takes the rest

# The date bound (``<= %(day)s``, the UTC date + 1, i.e. ahead of every island's clock) lets the
# bookings_sweep_idx range scan do the work; the exact local-time comparison then filters the few left.
_DUE = {
    BookingStatus.EXPIRED: "b.status = 'pending' AND b.expires_at <= %(now)s",
    BookingStatus.ACTIVE: "b.status = 'confirmed' AND b.start_date <= %(day)s"
                          " AND (b.start_date + %(pickup)s::time) AT TIME ZONE i.timezone <= %(now)s",
    BookingStatus.COMPLETED: "b.status = 'active' AND b.end_date <= %(day)s"
                             " AND (b.end_date + %(return)s::time) AT TIME ZONE i.timezone <= %(now)s",
}


async def _claim(conn: Conn, target: BookingStatus, now: dt.datetime) -> list[int]:
    cur = await conn.execute(
        f"""
        SELECT b.id FROM bookings b JOIN vehicles v ON v.id = b.vehicle_id JOIN islands i ON i.id = v.island_id
         WHERE {_DUE[target]}
         ORDER BY b.id LIMIT {BATCH}
           FOR UPDATE OF b SKIP LOCKED
        """,
        {"now": now, "day": now.astimezone(dt.UTC).date() + dt.timedelta(days=1), "pickup": PICKUP_TIME,
         "return": RETURN_TIME},
    )
    return [row["id"] for row in await cur.fetchall()]


async def sweep_once(conn: Conn, now: dt.datetime | None = None) -> list[Transition]:
    """One pass over the three date-driven transitions; returns what it changed (committed)."""
    now = now or dt.datetime.now(dt.UTC)
    done: list[Transition] = []
    for target in (BookingStatus.EXPIRED, BookingStatus.ACTIVE, BookingStatus.COMPLETED):
        async with conn.transaction():
            for booking_id in await _claim(conn, target, now):
                booking = await repo.lock_booking(conn, booking_id)  # already ours: re-read the full row
                if booking is not None:
                    done.append(await apply_transition(conn, booking, target, SYSTEM, note="sweeper"))
    return done


async def run_sweeper(pool: AsyncConnectionPool, interval_s: float, stop: asyncio.Event,
                      invalidate_vehicle: Callable[[int], Awaitable[Any]] | None = None) -> None:
    """Sweep every ``interval_s`` seconds until ``stop`` is set; a failed pass is logged and retried.

    Stopping is by event, not only by task cancellation: a cancellation that lands while the pool is
    handing out a connection can be absorbed on the way (seen in tests: the task then slept on, and the
    app's shutdown hung), whereas the event is checked after every pass and ends the wait at once.
    """
    while not stop.is_set():
        try:
            async with pool.connection() as conn:  # the pool's connections return dict rows (api.db)
                transitions = await sweep_once(cast(Conn, conn))
            await announce(transitions, invalidate_vehicle)
            if transitions:
                log.info("booking sweeper moved %d booking(s)", len(transitions))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("booking sweeper pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
