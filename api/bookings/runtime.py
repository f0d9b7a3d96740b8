"""Lifespan wiring of the booking sweeper (expiry, active, completed by the clock)."""
from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api.bookings.sweeper import run_sweeper
from api.cache import invalidate_vehicle

# How long shutdown waits for a sweep in progress to finish before cancelling it.
STOP_GRACE_S = 5.0


@contextlib.asynccontextmanager
async def bookings_runtime(app: FastAPI) -> AsyncIterator[None]:
    """Sweep bookings every BOOKING_SWEEP_INTERVAL_S for the life of the app."""
    settings = app.state.settings
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_sweeper(app.state.pool, settings.booking_sweep_interval_s, stop,
                    functools.partial(invalidate_vehicle, app.state.redis)),
        name="booking-sweeper")
    try:
        yield
    finally:
        stop.set()
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_S)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        gateway = getattr(app.state, "stripe_gateway", None)
        if gateway is not None:
            await gateway.close()
