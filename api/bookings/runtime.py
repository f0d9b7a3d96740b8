"""Lifespan wiring of the booking sweeper (expiry, active, completed by the clock)."""
from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api.bookings.sweeper import run_sweeper
from api.cache import invalidate_vehicle


@contextlib.asynccontextmanager
async def bookings_runtime(app: FastAPI) -> AsyncIterator[None]:
    """Sweep bookings every BOOKING_SWEEP_INTERVAL_S for the life of the app."""
    settings = app.state.settings
    task = asyncio.create_task(
        run_sweeper(app.state.pool, settings.booking_sweep_interval_s,
                    functools.partial(invalidate_vehicle, app.state.redis)),
        name="booking-sweeper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
