"""Host CRUD of vehicles and the public detail page."""
from __future__ import annotations

from tests.api.support import vehicle_payload


async def test_host_creates_updates_and_deletes(client, factory):
    host = await factory.host()
    vehicle = await factory.vehicle(host, make="Jeep", model="Wrangler", vehicle_type="jeep", drive_side="RHD",
                                    features=["bluetooth", "ac", "ac"])
    assert vehicle["host_id"] == host.id and vehicle["island"] == "nassau" and vehicle["drive_side"] == "RHD"
    assert vehicle["features"] == ["ac", "bluetooth"] and vehicle["rating"] == {"count": 0, "average": None}
    vid = vehicle["id"]
    patched = await client.patch(f"/v1/vehicles/{vid}", json={"daily_rate_cents": 12000, "island": "exuma"},
                                 headers=host.headers)
    assert patched.status_code == 200
    assert patched.json()["daily_rate_cents"] == 12000 and patched.json()["island"] == "exuma"
    assert (await client.get(f"/v1/vehicles/{vid}")).json()["daily_rate_cents"] == 12000
    assert (await client.delete(f"/v1/vehicles/{vid}", headers=host.headers)).status_code == 204
    assert (await client.get(f"/v1/vehicles/{vid}")).status_code == 404


async def test_renter_cannot_create_and_host_cannot_touch_foreign_vehicle(client, factory):
    renter = await factory.renter()
    resp = await client.post("/v1/vehicles", json=vehicle_payload(), headers=renter.headers)
    assert resp.status_code == 403
    assert (await client.post("/v1/vehicles", json=vehicle_payload())).status_code == 401
    vehicle = await factory.vehicle()
    other = await factory.host()
    resp = await client.patch(f"/v1/vehicles/{vehicle['id']}", json={"seats": 2}, headers=other.headers)
    assert resp.status_code == 403
    assert (await client.delete(f"/v1/vehicles/{vehicle['id']}", headers=other.headers)).status_code == 403
    assert (await client.patch("/v1/vehicles/999999999", json={"seats": 2}, headers=other.headers)).status_code == 404


async def test_validation_names_fields(client, factory):
    host = await factory.host()
    cases = [
        ({"drive_side": "middle"}, "body.drive_side"),
        ({"daily_rate_cents": "cheap"}, "body.daily_rate_cents"),
        ({"seats": 0}, "body.seats"),
        ({"island": "atlantis"}, "body.island"),
        ({"min_days": 10, "max_days": 3}, "body.max_days"),
        ({"photo_urls": ["not a url"]}, "body.photo_urls.0"),
        ({"colour": "red"}, "body.colour"),
    ]
    for override, field in cases:
        resp = await client.post("/v1/vehicles", json=vehicle_payload(**override), headers=host.headers)
        assert resp.status_code == 422, (override, resp.text)
        assert field in [f["field"] for f in resp.json()["error"]["fields"]], (override, resp.text)
    body = vehicle_payload()
    del body["make"]
    resp = await client.post("/v1/vehicles", json=body, headers=host.headers)
    assert [f["field"] for f in resp.json()["error"]["fields"]] == ["body.make"]
    vehicle = await factory.vehicle(host)
    resp = await client.patch(f"/v1/vehicles/{vehicle['id']}", json={"make": None}, headers=host.headers)
    assert resp.status_code == 422 and resp.json()["error"]["fields"][0]["field"] == "body.make"


async def test_unlisted_vehicle_visible_only_to_its_host(client, factory):
    host = await factory.host()
    vehicle = await factory.vehicle(host, listed=False)
    assert (await client.get(f"/v1/vehicles/{vehicle['id']}")).status_code == 404
    own = await client.get(f"/v1/vehicles/{vehicle['id']}", headers=host.headers)
    assert own.status_code == 200 and own.json()["listed"] is False
    mine = await client.get("/v1/host/vehicles", headers=host.headers)
    assert [v["id"] for v in mine.json()] == [vehicle["id"]]


async def test_vehicle_with_bookings_cannot_be_deleted(client, factory):
    host = await factory.host()
    renter = await factory.renter()
    vehicle = await factory.vehicle(host)
    await factory.sql(
        "INSERT INTO bookings (vehicle_id, renter_id, host_id, status, start_date, end_date, nights, "
        "daily_rate_cents, subtotal_cents, total_cents) VALUES (%s, %s, %s, 'completed', '2025-01-01', "
        "'2025-01-03', 2, 8900, 17800, 19936)", (vehicle["id"], renter.id, host.id))
    resp = await client.delete(f"/v1/vehicles/{vehicle['id']}", headers=host.headers)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "vehicle_has_bookings"


async def test_detail_shows_rating_from_the_view(client, factory):
    host = await factory.host()
    vehicle = await factory.vehicle(host)
    for rating in (5, 4):
        renter = await factory.renter()
        rows = await factory.sql(
            "INSERT INTO bookings (vehicle_id, renter_id, host_id, status, start_date, end_date, nights, "
            "daily_rate_cents, subtotal_cents, total_cents) VALUES (%s, %s, %s, 'completed', "
            "'2025-02-01'::date + %s, '2025-02-03'::date + %s, 2, 8900, 17800, 19936) RETURNING id",
            (vehicle["id"], renter.id, host.id, rating * 5, rating * 5))
        await factory.sql("INSERT INTO reviews (booking_id, vehicle_id, renter_id, rating) VALUES (%s, %s, %s, %s)",
                          (rows[0][0], vehicle["id"], renter.id, rating))
    await factory.sql("REFRESH MATERIALIZED VIEW CONCURRENTLY vehicle_ratings")
    resp = await client.get(f"/v1/vehicles/{vehicle['id']}")
    assert resp.json()["rating"] == {"count": 2, "average": 4.5}


async def test_unknown_and_bad_vehicle_ids(client):
    assert (await client.get("/v1/vehicles/987654321")).status_code == 404
    resp = await client.get("/v1/vehicles/abc")
    assert resp.status_code == 422 and resp.json()["error"]["fields"][0]["field"] == "path.vehicle_id"
    assert (await client.get(f"/v1/vehicles/{2**70}")).status_code == 422


async def test_unstorable_text_is_422_naming_the_field(client, factory):
    host = await factory.host()
    resp = await client.post("/v1/vehicles", json=vehicle_payload(make="Toy\u0000ota"), headers=host.headers)
    assert resp.status_code == 422 and resp.json()["error"]["fields"][0]["field"] == "body.make"
    raw = b'{"email": "a@example.com", "password": "pass\\ud800word-long", "full_name": "X"}'
    resp = await client.post("/v1/auth/register", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 422 and resp.json()["error"]["fields"][0]["field"] == "body.password"
    resp = await client.get("/v1/vehicles", params={"features": "a\u0000b"})
    assert resp.status_code == 422 and resp.json()["error"]["fields"][0]["field"] == "query.features"
