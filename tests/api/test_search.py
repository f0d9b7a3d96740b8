"""GET /v1/vehicles: filters, availability by dates, sorts, tamper-proof cursor pagination.

Each test tags its vehicles with a unique feature and filters on it, so vehicles other tests create in
the same database never show up.
"""
from __future__ import annotations

import base64
import uuid
from datetime import date, timedelta

import orjson


def _tag() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


async def _ids(client, **params) -> list[int]:
    resp = await client.get("/v1/vehicles", params=params)
    assert resp.status_code == 200, resp.text
    return [v["id"] for v in resp.json()["items"]]


async def test_filters(client, factory):
    tag, host = _tag(), await factory.host()
    suv = await factory.vehicle(host, features=[tag, "ac"], vehicle_type="suv", seats=7, daily_rate_cents=9000)
    sedan = await factory.vehicle(host, features=[tag], vehicle_type="sedan", seats=5, daily_rate_cents=6000,
                                  transmission="manual", island="freeport", drive_side="RHD", fuel="hybrid")
    await factory.vehicle(host, features=[tag], listed=False)
    assert sorted(await _ids(client, features=tag)) == sorted([suv["id"], sedan["id"]])
    assert await _ids(client, features=tag, island="freeport") == [sedan["id"]]
    assert await _ids(client, features=tag, vehicle_type="suv") == [suv["id"]]
    assert sorted(await _ids(client, features=tag, vehicle_type=["suv", "sedan"])) == sorted([suv["id"], sedan["id"]])
    assert await _ids(client, features=tag, seats_min=6) == [suv["id"]]
    assert await _ids(client, features=tag, price_max=7000) == [sedan["id"]]
    assert await _ids(client, features=tag, price_min=7000) == [suv["id"]]
    assert await _ids(client, features=tag, transmission="manual") == [sedan["id"]]
    assert await _ids(client, features=tag, drive_side="RHD") == [sedan["id"]]
    assert await _ids(client, features=tag, fuel="hybrid") == [sedan["id"]]
    assert await _ids(client, features=f"{tag},ac") == [suv["id"]]


async def test_dates_exclude_booked_vehicles(client, factory):
    tag, host, renter = _tag(), await factory.host(), await factory.renter()
    booked = await factory.vehicle(host, features=[tag])
    free = await factory.vehicle(host, features=[tag])
    start = date.today() + timedelta(days=30)
    await factory.sql(
        "INSERT INTO bookings (vehicle_id, renter_id, host_id, status, start_date, end_date, nights, "
        "daily_rate_cents, subtotal_cents, total_cents) VALUES (%s, %s, %s, 'confirmed', %s, %s, 3, 8900, 26700, 29904)",
        (booked["id"], renter.id, host.id, start, start + timedelta(days=3)))
    overlapping = {"start_date": (start + timedelta(days=2)).isoformat(), "end_date": (start + timedelta(days=5)).isoformat()}
    assert await _ids(client, features=tag, **overlapping) == [free["id"]]
    # the return day is free for the next renter: [start, end)
    after = {"start_date": (start + timedelta(days=3)).isoformat(), "end_date": (start + timedelta(days=6)).isoformat()}
    assert sorted(await _ids(client, features=tag, **after)) == sorted([booked["id"], free["id"]])
    # a cancelled booking does not block
    await factory.sql("UPDATE bookings SET status = 'cancelled' WHERE vehicle_id = %s", (booked["id"],))
    from api.cache import invalidate_vehicle
    await invalidate_vehicle(client._transport.app.state.redis, booked["id"])
    assert sorted(await _ids(client, features=tag, **overlapping)) == sorted([booked["id"], free["id"]])


async def test_dates_respect_min_and_max_days(client, factory):
    tag = _tag()
    weekly = await factory.vehicle(features=[tag], min_days=7, max_days=28)
    start = date.today() + timedelta(days=10)
    short = {"start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}
    long = {"start_date": start.isoformat(), "end_date": (start + timedelta(days=8)).isoformat()}
    assert await _ids(client, features=tag, **short) == []
    assert await _ids(client, features=tag, **long) == [weekly["id"]]


async def test_bad_search_input_names_the_field(client):
    today = date.today()
    cases = [
        ({"start_date": (today + timedelta(days=3)).isoformat()}, "query.end_date"),
        ({"start_date": (today + timedelta(days=3)).isoformat(), "end_date": (today + timedelta(days=2)).isoformat()},
         "query.end_date"),
        ({"start_date": (today - timedelta(days=3)).isoformat(), "end_date": (today + timedelta(days=2)).isoformat()},
         "query.start_date"),
        ({"start_date": "tomorrow", "end_date": "2030-01-01"}, "query.start_date"),
        ({"price_min": 500, "price_max": 100}, "query.price_max"),
        ({"limit": 51}, "query.limit"),
        ({"sort": "cheapest"}, "query.sort"),
        ({"island": "atlantis"}, "query.island"),
    ]
    for params, field in cases:
        resp = await client.get("/v1/vehicles", params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.json()["error"]["fields"][0]["field"] == field, (params, resp.text)


async def _all_pages(client, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        resp = await client.get("/v1/vehicles", params={**params, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= params["limit"]
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_sorts_and_pagination_visit_every_vehicle_once(client, factory):
    tag, host = _tag(), await factory.host()
    rates = [5000, 7000, 7000, 9000, 12000, 6000, 7000]
    created = [await factory.vehicle(host, features=[tag], daily_rate_cents=r) for r in rates]
    by_id = {v["id"]: v for v in created}
    price_asc = await _all_pages(client, features=tag, sort="price_asc", limit=2)
    assert [v["id"] for v in price_asc] == sorted(by_id, key=lambda i: (by_id[i]["daily_rate_cents"], i))
    price_desc = await _all_pages(client, features=tag, sort="price_desc", limit=3)
    assert [v["id"] for v in price_desc] == sorted(by_id, key=lambda i: (-by_id[i]["daily_rate_cents"], -i))
    newest = await _all_pages(client, features=tag, sort="newest", limit=4)
    assert [v["id"] for v in newest] == sorted(by_id, reverse=True)


async def test_rating_sort(client, factory):
    tag, host = _tag(), await factory.host()
    vehicles = [await factory.vehicle(host, features=[tag]) for _ in range(3)]
    for vehicle, rating in zip(vehicles[:2], (3, 5)):
        renter = await factory.renter()
        rows = await factory.sql(
            "INSERT INTO bookings (vehicle_id, renter_id, host_id, status, start_date, end_date, nights, "
            "daily_rate_cents, subtotal_cents, total_cents) VALUES (%s, %s, %s, 'completed', '2025-03-01', "
            "'2025-03-03', 2, 8900, 17800, 19936) RETURNING id", (vehicle["id"], renter.id, host.id))
        await factory.sql("INSERT INTO reviews (booking_id, vehicle_id, renter_id, rating) VALUES (%s, %s, %s, %s)",
                          (rows[0][0], vehicle["id"], renter.id, rating))
    await factory.sql("REFRESH MATERIALIZED VIEW CONCURRENTLY vehicle_ratings")
    order = await _all_pages(client, features=tag, sort="rating", limit=1)
    assert [v["id"] for v in order] == [vehicles[1]["id"], vehicles[0]["id"], vehicles[2]["id"]]
    assert order[0]["rating"] == {"count": 1, "average": 5.0}


async def test_cursor_cannot_be_tampered_or_reused_for_another_query(client, factory):
    tag, host = _tag(), await factory.host()
    for rate in (5000, 6000, 7000):
        await factory.vehicle(host, features=[tag], daily_rate_cents=rate)
    first = (await client.get("/v1/vehicles", params={"features": tag, "sort": "price_asc", "limit": 1})).json()
    cursor = first["next_cursor"]
    payload, signature = cursor.split(".")
    data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["p"][0] = 0
    forged = base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode() + "." + signature
    for params in ({"features": tag, "sort": "price_asc", "cursor": forged},
                   {"features": tag, "sort": "price_desc", "cursor": cursor},
                   {"features": tag, "sort": "price_asc", "island": "exuma", "cursor": cursor},
                   {"features": tag, "sort": "price_asc", "cursor": "garbage!!"}):
        resp = await client.get("/v1/vehicles", params={"limit": 1, **params})
        assert resp.status_code == 400, (params, resp.text)
        assert resp.json()["error"]["fields"][0]["field"] == "query.cursor"
    # a different page size with the same query is fine
    resp = await client.get("/v1/vehicles", params={"features": tag, "sort": "price_asc", "limit": 5, "cursor": cursor})
    assert resp.status_code == 200 and len(resp.json()["items"]) == 2
