"""Lifespan wiring of the vehicle_ratings refresher (``app.state.ratings_refresher``)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.reviews.refresher import RatingsRefresher


@asynccontextmanager
async def ratings_runtime(app: FastAPI) -> AsyncIterator[RatingsRefresher]:
    """Run the debounced refresher for the life of the app; refreshed vehicles' caches are invalidated."""
    from api import cache  # the core engineer's cache-aside module

    async def invalidate(vehicle_id: int) -> None:
        await cache.invalidate_vehicle(app.state.redis, vehicle_id)

    refresher = RatingsRefresher(app.state.pool, invalidate,
                                 debounce_s=app.state.settings.ratings_refresh_debounce_s)
    app.state.ratings_refresher = refresher
    refresher.start()
    try:
        yield refresher
    finally:
        await refresher.stop()
