"""Fixtures for the API tests, shared by every engineer's tests under tests/api/.

- ``api_database``: one uniquely named database per session, migrated once (dropped at the end);
- ``api_redis``: a throwaway redis-server for the session;
- ``settings``: test settings pointing at both; override per module with a ``settings_overrides``
  fixture returning a dict (e.g. ``{"stripe_api_base": localstripe_url}``);
- ``app`` (lifespan running) and ``client`` (httpx over ASGITransport); ``make_app``/``make_client``
  for a second app instance;
- ``live_api``: starts ``island-api serve`` in a subprocess on a free port (real uvicorn);
- ``factory``: users (renter/host/premium) with tokens, and vehicles; data is isolated by unique emails.
- ``localstripe_url`` / ``smtp`` start their servers on first use, once per session.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from api.app import create_app
from api.migrate import apply_migrations
from api.settings import Settings, load_settings
from tests.api.support import Factory, LiveApi, live_api_process, settings_env
from tests.support.services import localstripe, redis_server, redis_url, smtp_catcher, temp_database

# Lower argon2 cost keeps registration/login fast in tests; rate limits are raised so only the
# rate-limit tests (which set their own) ever see a 429.
TEST_SETTINGS = {
    "environment": "test",
    "argon2_time_cost": 1,
    "argon2_memory_kib": 1024,
    "rate_limit_anonymous": 100_000,
    "rate_limit_authenticated": 100_000,
    "rate_limit_premium": 100_000,
    "jwt_secret": "test-secret-for-the-api-suite-0123456789abcdef",
}


@pytest.fixture(scope="session")
def api_database() -> Iterator[str]:
    """DSN of a fresh database for this session, with every migration applied."""
    with temp_database(prefix="island_api_test") as dsn:
        apply_migrations(dsn)
        yield dsn


@pytest.fixture(scope="session")
def api_redis() -> Iterator[str]:
    """URL of a throwaway redis-server for this session."""
    with redis_server() as srv:
        yield redis_url(srv)


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    with localstripe() as srv:
        yield srv.url


@pytest.fixture(scope="session")
def smtp():
    """An aiosmtpd catcher; ``smtp.url`` for SMTP_URL, ``smtp.messages`` the envelopes received."""
    with smtp_catcher() as catcher:
        yield catcher


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change settings for its tests."""
    return {}


@pytest.fixture
def settings(api_database: str, api_redis: str, settings_overrides: dict[str, object]) -> Settings:
    return load_settings(**{**TEST_SETTINGS, "database_url": api_database, "redis_url": api_redis,
                            **settings_overrides})


@pytest.fixture
def make_app(settings: Settings):
    """Build and start (lifespan) extra app instances: ``async with make_app(**overrides) as app``."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def _make(**overrides: object):
        app = create_app(settings.model_copy(update=overrides) if overrides else settings)
        async with app.router.lifespan_context(app):
            yield app

    return _make


@pytest.fixture
async def app(make_app):
    async with make_app() as started:
        yield started


def asgi_client(app, client_ip: str = "127.0.0.1", **kwargs) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in process, as if from ``client_ip``."""
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", **kwargs)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


@pytest.fixture
async def factory(client: httpx.AsyncClient, settings: Settings) -> AsyncIterator[Factory]:
    f = Factory(client, settings.database_url)
    try:
        yield f
    finally:
        await f.close()


@pytest.fixture
def live_api(settings: Settings):
    """Start ``island-api serve`` (real uvicorn) for this test: ``with live_api(workers=2) as api: api.url``."""

    def _start(workers: int = 1, **overrides: object):
        merged = settings.model_copy(update=overrides) if overrides else settings
        return live_api_process(settings_env(merged), workers=workers)

    return _start


__all__ = ["LiveApi", "asgi_client"]
