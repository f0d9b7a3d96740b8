"""The FastAPI application: ``create_app(settings)`` wires the pool, Redis, middleware and routers."""
from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from api import telemetry
from api.bookings.runtime import bookings_runtime
from api.chat.runtime import chat_runtime
from api.db import create_pool
from api.email.runtime import outbox_runtime
from api.errors import install_error_handlers
from api.middleware import EdgeMiddleware
from api.ratelimit import RateLimitMiddleware
from api.readiness import Readiness
from api.redis_client import create_redis
from api.reviews.runtime import ratings_runtime
from api.routes import ROUTERS
from api.settings import Settings, get_settings

log = logging.getLogger("api")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the pool (without waiting: the API starts and reports not-ready while Postgres is down)."""
    await app.state.pool.open(wait=False)
    await app.state.readiness.check()
    _prepare_garbage_collector()
    try:
        async with chat_runtime(app), outbox_runtime(app), ratings_runtime(app), bookings_runtime(app):
            yield
    finally:
        await app.state.redis.aclose()
        await app.state.pool.close()


_frozen = False
GC_GEN0_THRESHOLD = 10_000


def _prepare_garbage_collector() -> None:
    """Move everything built at start-up (modules, routes, the app: it lives as long as the process) out
    of the cyclic collector's generations, once per process, so that full collections stop walking it on
    the request path (the usual gc.freeze() practice for long-lived servers). Telemetry allocates per
    request (spans waiting in the batch queue, log buffers), so collections come more often with it on:
    on the trivial endpoint, full telemetry at 10 % measured 0.61-0.74 of off without this and 0.74-0.94
    with it (server CPU, off/mode/mode/off, 4 rounds each, 26 Nov 2026), though the 5-round
    benchmarks.telemetry run after it (README, run C) stayed inside this VM's noise.
    Once per process: a test session building hundreds of apps must still collect the earlier ones.

    It also raises the youngest generation's threshold from CPython's 700 to GC_GEN0_THRESHOLD. The
    collections that 700 triggers under load find no garbage: they are set off by the objects of the
    requests in flight (coroutines, frames, dicts), which are all alive. Counted with gc.callbacks under
    wrk on the vehicle detail (26 Nov 2026): at 700 the collector took 15 us of a 376 us request with
    telemetry off and 20 us with full telemetry at 16 connections, 40 and 54 us at 64; at 10,000 it ran
    almost never in either mode, and one server's throughput rose 5 % off and 8 % full (c16), 10 % and
    12 % (c64). 2,000 still left 4.5 us a request with full telemetry at c16, and 5,000 still 25-36 us at
    c64. What cyclic garbage there is (those collections freed next to nothing) now waits for 10,000
    allocations instead of 700."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    telemetry.configure_logging(settings)
    app = FastAPI(title="Island Rides API", version="0.1.0", lifespan=lifespan,
                  description="Rent cars from hosts on Nassau, Freeport and Exuma.")
    app.state.settings = settings
    app.state.pool = create_pool(settings)
    app.state.redis = create_redis(settings)
    app.state.readiness = Readiness(settings.database_url)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    # Added last = outermost: the edge sees every response, including CORS preflights and errors.
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
                       allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                       allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"],
                       expose_headers=["X-Request-ID", "RateLimit-Limit", "RateLimit-Remaining",
                                       "RateLimit-Reset", "Retry-After"],
                       max_age=600)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes)
    telemetry.install(app, settings)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory api.app:app_factory``."""
    return create_app()
