"""Keeps the vehicle_ratings materialized view fresh without ever blocking a reader.

``REFRESH MATERIALIZED VIEW CONCURRENTLY`` (possible thanks to the view's unique index) lets readers go on
reading the old contents while it runs. New reviews call ``request(vehicle_id)``; the refresher waits
``debounce_s`` so a burst of reviews costs one refresh, then refreshes under a transaction-level advisory
lock: with ``--workers N`` only one process refreshes at a time, and a process that finds the lock taken
keeps its pending vehicles and tries again after another debounce (the other refresh may have started
before its review committed). After each refresh the vehicles' cached pages are invalidated. A slow
periodic refresh (``every_s``) catches reviews whose process died before refreshing.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

import structlog
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from api.background import cancel_and_wait
from api.log_fields import error_fields

log = structlog.get_logger("api.reviews")


# pg_try_advisory_xact_lock key: an arbitrary constant owned by this module ("RATE" in ASCII).
ADVISORY_LOCK_KEY = 0x52415445

Invalidate = Callable[[int], Awaitable[None]]


async def refresh_view(pool: AsyncConnectionPool) -> bool:
    """Refresh vehicle_ratings once if no other process is doing it; True when this call refreshed."""
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=tuple_row)  # whatever row factory the pool set
        await cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
        row = await cur.fetchone()
        if row is None or not row[0]:
            return False
        await conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY vehicle_ratings")
    return True


class RatingsRefresher:
    """Debounced, advisory-locked refreshes of vehicle_ratings; ``start()``/``stop()`` in the lifespan."""

    def __init__(self, pool: AsyncConnectionPool, invalidate: Invalidate, *, debounce_s: float = 2.0,
                 every_s: float = 600.0) -> None:
        self.pool = pool
        self.invalidate = invalidate
        self.debounce_s = debounce_s
        self.every_s = every_s
        self.refreshes = 0  # completed refreshes by this process (tests and logs)
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def request(self, vehicle_id: int) -> None:
        """Ask for a refresh soon because ``vehicle_id`` got a new review."""
        self._pending.add(vehicle_id)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="vehicle-ratings-refresher")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.every_s):
                    await self._wake.wait()
            await asyncio.sleep(self.debounce_s)  # let a burst of reviews collapse into one refresh
            self._wake.clear()
            try:
                await self.refresh_now()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database down: keep the pending set and try on the next wake
                log.warning("vehicle_ratings refresh failed", **error_fields(exc))
                self._wake.set()

    async def refresh_now(self) -> bool:
        """Refresh now (if no other process is) and invalidate the pending vehicles' caches."""
        vehicles = set(self._pending)
        if not await refresh_view(self.pool):
            self._wake.set()  # another process holds the lock: come back after the next debounce
            return False
        self._pending -= vehicles
        self.refreshes += 1
        await self._invalidate_all(vehicles)
        return True

    async def _invalidate_all(self, vehicles: Iterable[int]) -> None:
        for vehicle_id in vehicles:
            try:
                await self.invalidate(vehicle_id)
            except Exception as exc:  # noqa: BLE001 - a cache outage must not stop the refresher
                log.warning("cache invalidation after ratings refresh failed", vehicle_id=vehicle_id,
                            **error_fields(exc))
