"""Rate limits per tier on Redis: headers, 429 with Retry-After, separate budgets, fail-open without Redis."""
from __future__ import annotations

import logging
import random

from tests.api.conftest import asgi_client
from tests.support.services import free_port


def _ip() -> str:
    # a fresh client address per test: windows of other tests (same Redis) never interfere
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


async def test_anonymous_limit_headers_and_429(make_app):
    async with make_app(rate_limit_anonymous=3, rate_limit_window_s=600) as app, \
            asgi_client(app, client_ip=_ip()) as c:
        remaining = []
        for _ in range(3):
            resp = await c.get("/v1/islands")
            assert resp.status_code == 200
            assert resp.headers["ratelimit-limit"] == "3"
            assert 0 < int(resp.headers["ratelimit-reset"]) <= 600
            remaining.append(int(resp.headers["ratelimit-remaining"]))
        assert remaining == [2, 1, 0]
        refused = await c.get("/v1/islands", headers={"X-Request-ID": "rl-1"})
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 600
        assert refused.json()["error"]["code"] == "rate_limited" and refused.json()["error"]["request_id"] == "rl-1"
        assert refused.headers["x-content-type-options"] == "nosniff"
        # probes are never limited
        assert (await c.get("/livez")).status_code == 200
    async with make_app(rate_limit_anonymous=3, rate_limit_window_s=600) as app, \
            asgi_client(app, client_ip=_ip()) as other_ip:
        assert (await other_ip.get("/v1/islands")).status_code == 200


async def test_tiers_have_their_own_budgets(make_app, factory):
    renter = await factory.renter()
    premium = await factory.renter(premium=True)
    limits = {"rate_limit_anonymous": 1, "rate_limit_authenticated": 2, "rate_limit_premium": 4,
              "rate_limit_window_s": 600}
    async with make_app(**limits) as app, asgi_client(app, client_ip=_ip()) as c:
        assert (await c.get("/v1/islands")).status_code == 200
        assert (await c.get("/v1/islands")).status_code == 429
        statuses = [(await c.get("/v1/users/me", headers=renter.headers)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        resp = await c.get("/v1/users/me", headers=premium.headers)
        assert resp.headers["ratelimit-limit"] == "4"
        statuses = [(await c.get("/v1/users/me", headers=premium.headers)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


async def test_redis_down_fails_open_and_logs_once(make_app, factory, caplog):
    vehicle = await factory.vehicle()
    dead = f"redis://127.0.0.1:{free_port()}/0"
    caplog.set_level(logging.WARNING, logger="api.redis")
    async with make_app(redis_url=dead, rate_limit_anonymous=1) as app, asgi_client(app, client_ip=_ip()) as c:
        for _ in range(5):
            assert (await c.get("/v1/vehicles", params={"limit": 1})).status_code == 200
            detail = await c.get(f"/v1/vehicles/{vehicle['id']}")
            assert detail.status_code == 200 and detail.headers["x-cache"] == "MISS"
            assert "ratelimit-limit" not in detail.headers
    warnings = [r for r in caplog.records if r.name == "api.redis"]
    assert 1 <= len(warnings) <= 3  # one line per operation kind, not one per request
    assert "serving without it" in warnings[0].getMessage()
