"""Cache-aside for search and detail: hits, invalidation on writes, versioned namespaces, Redis outages."""
from __future__ import annotations

import sys
import uuid

from api.cache import invalidate_vehicle
from tests.api.conftest import asgi_client
from tests.support.services import redis_server, redis_url


async def test_detail_is_cached_and_invalidated_by_a_write(client, factory):
    host = await factory.host()
    vehicle = await factory.vehicle(host)
    url = f"/v1/vehicles/{vehicle['id']}"
    assert (await client.get(url)).headers["x-cache"] == "MISS"
    second = await client.get(url)
    assert second.headers["x-cache"] == "HIT" and second.json() == vehicle
    await client.patch(url, json={"daily_rate_cents": 4321}, headers=host.headers)
    fresh = await client.get(url)
    assert fresh.headers["x-cache"] == "MISS" and fresh.json()["daily_rate_cents"] == 4321


async def test_search_is_cached_by_normalised_query_and_invalidated(client, factory):
    tag = f"t{uuid.uuid4().hex[:12]}"
    host = await factory.host()
    first = await factory.vehicle(host, features=[tag])
    a = await client.get("/v1/vehicles", params={"features": f"{tag}", "vehicle_type": ["suv", "jeep"]})
    b = await client.get("/v1/vehicles", params={"vehicle_type": ["jeep", "suv"], "features": f"{tag}"})
    assert a.headers["x-cache"] == "MISS" and b.headers["x-cache"] == "HIT" and a.json() == b.json()
    second = await factory.vehicle(host, features=[tag])  # a create invalidates every search
    c = await client.get("/v1/vehicles", params={"features": tag, "vehicle_type": ["suv", "jeep"]})
    assert c.headers["x-cache"] == "MISS"
    assert sorted(v["id"] for v in c.json()["items"]) == sorted([first["id"], second["id"]])


async def test_cache_hits_take_no_database_connection(client, factory, app):
    """A cached read borrows a pooled connection only when it misses: under load, hits must not queue
    for the pool behind requests that need the database."""
    tag = f"t{uuid.uuid4().hex[:12]}"
    vehicle = await factory.vehicle(features=[tag])
    pool, borrowed = app.state.pool, []
    connection = pool.connection

    def counting_connection(*args, **kwargs):
        # Only the vehicle handlers' borrowings: the outbox worker and the booking sweeper share the pool.
        if sys._getframe(1).f_globals.get("__name__") == "api.routes.vehicles":
            borrowed.append(1)
        return connection(*args, **kwargs)

    pool.connection = counting_connection
    try:
        for url, params in ((f"/v1/vehicles/{vehicle['id']}", None), ("/v1/vehicles", {"features": tag})):
            before = len(borrowed)
            miss, hit = await client.get(url, params=params), await client.get(url, params=params)
            assert (miss.headers["x-cache"], hit.headers["x-cache"]) == ("MISS", "HIT")
            assert miss.json() == hit.json()
            assert len(borrowed) - before == 1, url
    finally:
        del pool.connection


async def test_out_of_band_change_is_seen_after_invalidate_vehicle(client, factory, app):
    vehicle = await factory.vehicle()
    url = f"/v1/vehicles/{vehicle['id']}"
    await client.get(url)
    await factory.sql("UPDATE vehicles SET seats = 2 WHERE id = %s", (vehicle["id"],))
    assert (await client.get(url)).json()["seats"] == vehicle["seats"]  # served from the cache
    await invalidate_vehicle(app.state.redis, vehicle["id"])
    assert (await client.get(url)).json()["seats"] == 2


async def test_per_user_responses_are_not_cached(client, factory):
    host = await factory.host()
    await factory.vehicle(host, listed=False)
    first = await client.get("/v1/host/vehicles", headers=host.headers)
    assert "x-cache" not in first.headers
    await factory.vehicle(host)
    assert len((await client.get("/v1/host/vehicles", headers=host.headers)).json()) == 2


async def test_redis_outage_and_recovery(make_app, factory):
    vehicle = await factory.vehicle()
    url = f"/v1/vehicles/{vehicle['id']}"
    with redis_server() as srv:
        async with make_app(redis_url=redis_url(srv)) as app, asgi_client(app) as c:
            await c.get(url)
            assert (await c.get(url)).headers["x-cache"] == "HIT"
            srv.stop()
            for _ in range(3):
                resp = await c.get(url)
                assert resp.status_code == 200 and resp.headers["x-cache"] == "MISS"
            assert (await c.get("/v1/vehicles")).status_code == 200
            srv.start()
            from api.redis_guard import guard_for
            guard_for(app.state.redis).succeeded()  # skip the breaker's 2 s wait
            await c.get(url)
            assert (await c.get(url)).headers["x-cache"] == "HIT"


async def test_a_booking_removes_the_vehicle_from_cached_date_searches(client, factory):
    from datetime import date, timedelta

    tag = f"t{uuid.uuid4().hex[:12]}"
    vehicle = await factory.vehicle(features=[tag])
    renter = await factory.renter()
    start = date.today() + timedelta(days=40)
    stay = {"start_date": start.isoformat(), "end_date": (start + timedelta(days=3)).isoformat()}
    params = {"features": tag, **stay}
    assert [v["id"] for v in (await client.get("/v1/vehicles", params=params)).json()["items"]] == [vehicle["id"]]
    assert (await client.get("/v1/vehicles", params=params)).headers["x-cache"] == "HIT"
    booked = await client.post("/v1/bookings", json={"vehicle_id": vehicle["id"], **stay}, headers=renter.headers)
    assert booked.status_code == 201, booked.text
    after = await client.get("/v1/vehicles", params=params)
    assert after.headers["x-cache"] == "MISS" and after.json()["items"] == []
