"""Reviews: who may review, once, and the rating count/average from the refreshed materialized view."""
import asyncio
import datetime as dt
import itertools
import json

import pytest

_weeks = itertools.count(1)


@pytest.fixture
def settings_overrides():
    return {"ratings_refresh_debounce_s": 0.05}


async def booking(factory, vehicle, renter, status="completed") -> int:
    """A booking row in ``status`` (inserted directly: these tests are about reviews, not the state machine)."""
    start = dt.date(2020, 1, 1) + dt.timedelta(weeks=next(_weeks))
    rows = await factory.sql(
        "INSERT INTO bookings (vehicle_id, renter_id, host_id, status, start_date, end_date, nights,"
        " daily_rate_cents, subtotal_cents, total_cents) VALUES (%s, %s, %s, %s, %s, %s, 3, 8900, 26700, 29904)"
        " RETURNING id",
        (vehicle["id"], renter.id, vehicle["host_id"], status, start, start + dt.timedelta(days=3)),
    )
    return rows[0][0]


async def wait_for(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_renter_reviews_a_completed_booking_once(client, factory):
    renter, vehicle = await factory.renter(), await factory.vehicle()
    booking_id = await booking(factory, vehicle, renter)
    resp = await client.post(f"/v1/bookings/{booking_id}/review", json={"rating": 4, "comment": " Clean car "},
                             headers=renter.headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["rating"] == 4 and resp.json()["comment"] == "Clean car"
    again = await client.post(f"/v1/bookings/{booking_id}/review", json={"rating": 5}, headers=renter.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reviewed"


@pytest.mark.parametrize("status", ["pending", "confirmed", "active", "cancelled"])
async def test_a_booking_that_is_not_completed_cannot_be_reviewed(client, factory, status):
    renter, vehicle = await factory.renter(), await factory.vehicle()
    booking_id = await booking(factory, vehicle, renter, status)
    resp = await client.post(f"/v1/bookings/{booking_id}/review", json={"rating": 5}, headers=renter.headers)
    assert resp.status_code == 409 and resp.json()["error"]["status"] == status


async def test_only_the_renter_may_review(client, factory):
    renter, stranger, vehicle = await factory.renter(), await factory.renter(), await factory.vehicle()
    booking_id = await booking(factory, vehicle, renter)
    foreign = await client.post(f"/v1/bookings/{booking_id}/review", json={"rating": 1}, headers=stranger.headers)
    assert foreign.status_code == 404
    missing = await client.post("/v1/bookings/999999999/review", json={"rating": 3}, headers=renter.headers)
    assert missing.status_code == 404
    anonymous = await client.post(f"/v1/bookings/{booking_id}/review", json={"rating": 3})
    assert anonymous.status_code == 401


async def test_the_host_cannot_review_their_own_rental(client, factory):
    host, renter = await factory.host(), await factory.renter()
    vehicle = await factory.vehicle(host)
    booking_id = await booking(factory, vehicle, renter)
    resp = await client.post(f"/v1/bookings/{booking_id}/review", json={"rating": 5}, headers=host.headers)
    assert resp.status_code == 403


@pytest.mark.parametrize("body,field", [
    ({"rating": 0}, "body.rating"), ({"rating": 6}, "body.rating"), ({"rating": "five"}, "body.rating"),
    ({}, "body.rating"), ({"rating": 3, "comment": "x" * 2001}, "body.comment"),
    ({"rating": 3, "comment": "nul\u0000byte"}, "body.comment"), ({"rating": 3, "comment": "\udc00"}, "body.comment"),
])
async def test_bad_review_bodies_name_the_field(client, factory, body, field):
    renter, vehicle = await factory.renter(), await factory.vehicle()
    booking_id = await booking(factory, vehicle, renter)
    resp = await client.post(f"/v1/bookings/{booking_id}/review", content=json.dumps(body),  # \u-escapes
                             headers={**renter.headers, "Content-Type": "application/json"})
    assert resp.status_code == 422
    assert field in [f["field"] for f in resp.json()["error"]["fields"]]


async def test_count_and_average_after_the_view_is_refreshed(client, factory):
    vehicle = await factory.vehicle()
    detail = await client.get(f"/v1/vehicles/{vehicle['id']}")  # warms the vehicle cache
    assert detail.json()["rating"] == {"count": 0, "average": None}
    for rating in (5, 4, 2):
        renter = await factory.renter()
        booking_id = await booking(factory, vehicle, renter)
        resp = await client.post(f"/v1/bookings/{booking_id}/review", json={"rating": rating},
                                 headers=renter.headers)
        assert resp.status_code == 201

    async def refreshed():
        page = (await client.get(f"/v1/vehicles/{vehicle['id']}/reviews")).json()
        return page if page["review_count"] == 3 else None

    page = await wait_for(refreshed)
    assert page["rating_avg"] == pytest.approx(3.67)
    assert [r["rating"] for r in page["items"]] == [2, 4, 5]  # newest first
    # The refresher invalidated the cached vehicle page, so it shows the new rating too.
    rating = (await client.get(f"/v1/vehicles/{vehicle['id']}")).json()["rating"]
    assert rating == {"count": 3, "average": pytest.approx(3.67)}


async def test_review_pages_follow_the_cursor_and_refuse_a_tampered_one(client, factory):
    vehicle, other = await factory.vehicle(), await factory.vehicle()
    for rating in (1, 2, 3, 4, 5):
        renter = await factory.renter()
        booking_id = await booking(factory, vehicle, renter)
        assert (await client.post(f"/v1/bookings/{booking_id}/review", json={"rating": rating},
                                  headers=renter.headers)).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/v1/vehicles/{vehicle['id']}/reviews", params=params)).json()
        seen += [r["rating"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    first = (await client.get(f"/v1/vehicles/{vehicle['id']}/reviews", params={"limit": 2})).json()["next_cursor"]
    for bad, url in ((first[:-2] + "xx", vehicle["id"]), (first, other["id"]), ("garbage", vehicle["id"])):
        resp = await client.get(f"/v1/vehicles/{url}/reviews", params={"cursor": bad})
        assert resp.status_code == 400 and resp.json()["error"]["fields"][0]["field"] == "query.cursor"
    assert (await client.get("/v1/vehicles/999999999/reviews")).status_code == 404
