"""Chat over REST: lazily created conversations, paging both ways, and who is refused."""
import datetime as dt
import itertools
import json

import pytest

_weeks = itertools.count(1)


async def new_booking(factory, status="confirmed"):
    """A renter, a host's vehicle and a booking between them (inserted directly)."""
    host, renter = await factory.host(), await factory.renter()
    vehicle = await factory.vehicle(host)
    start = dt.date(2031, 1, 1) + dt.timedelta(weeks=next(_weeks))
    rows = await factory.sql(
        "INSERT INTO bookings (vehicle_id, renter_id, host_id, status, start_date, end_date, nights,"
        " daily_rate_cents, subtotal_cents, total_cents) VALUES (%s, %s, %s, %s, %s, %s, 2, 8900, 17800, 19936)"
        " RETURNING id", (vehicle["id"], renter.id, host.id, status, start, start + dt.timedelta(days=2)))
    return rows[0][0], renter, host


async def open_conversation(client, booking_id, user) -> int:
    resp = await client.get(f"/v1/bookings/{booking_id}/conversation", headers=user.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["id"]


async def test_conversations_are_created_on_first_access_for_both_parties(client, factory):
    booking_id, renter, host = await new_booking(factory)
    listed = (await client.get("/v1/conversations", headers=renter.headers)).json()["items"]
    assert [c["booking_id"] for c in listed] == [booking_id]
    conversation_id = listed[0]["id"]
    assert await open_conversation(client, booking_id, host) == conversation_id  # the same one, not a second
    host_list = (await client.get("/v1/conversations", headers=host.headers)).json()["items"]
    assert [c["id"] for c in host_list] == [conversation_id]
    assert listed[0]["renter_id"] == renter.id and listed[0]["host_id"] == host.id


async def test_messages_page_newest_first_and_oldest_first(client, factory):
    booking_id, renter, host = await new_booking(factory)
    conversation_id = await open_conversation(client, booking_id, renter)
    url = f"/v1/conversations/{conversation_id}/messages"
    for i in range(5):
        author = renter if i % 2 == 0 else host
        resp = await client.post(url, json={"body": f"message {i}"}, headers=author.headers)
        assert resp.status_code == 201 and resp.json()["sender_id"] == author.id

    async def walk(order):
        bodies, cursor = [], None
        while True:
            params = {"order": order, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(url, params=params, headers=host.headers)).json()
            bodies += [m["body"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return bodies

    assert await walk("desc") == [f"message {i}" for i in (4, 3, 2, 1, 0)]
    assert await walk("asc") == [f"message {i}" for i in range(5)]
    desc_cursor = (await client.get(url, params={"limit": 2}, headers=host.headers)).json()["next_cursor"]
    wrong_order = await client.get(url, params={"order": "asc", "cursor": desc_cursor}, headers=host.headers)
    assert wrong_order.status_code == 400 and wrong_order.json()["error"]["fields"][0]["field"] == "query.cursor"


async def test_strangers_and_anonymous_callers_are_refused(client, factory):
    booking_id, renter, _ = await new_booking(factory)
    stranger = await factory.renter()
    conversation_id = await open_conversation(client, booking_id, renter)
    url = f"/v1/conversations/{conversation_id}/messages"
    assert (await client.get(url, headers=stranger.headers)).status_code == 403
    assert (await client.post(url, json={"body": "hi"}, headers=stranger.headers)).status_code == 403
    assert (await client.get(f"/v1/bookings/{booking_id}/conversation", headers=stranger.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401
    assert (await client.get("/v1/conversations/999999999/messages", headers=renter.headers)).status_code == 404
    assert (await client.get("/v1/conversations", headers=stranger.headers)).json()["items"] == []


@pytest.mark.parametrize("body,field", [
    ({"body": ""}, "body.body"), ({"body": "   "}, "body.body"), ({"body": "x" * 2001}, "body.body"),
    ({"body": 12}, "body.body"), ({}, "body.body"), ({"body": "a\u0000b"}, "body.body"),
    ({"body": "lone \ud800"}, "body.body"),
])
async def test_bad_messages_name_the_field(client, factory, body, field):
    booking_id, renter, _ = await new_booking(factory)
    conversation_id = await open_conversation(client, booking_id, renter)
    resp = await client.post(f"/v1/conversations/{conversation_id}/messages", content=json.dumps(body),
                             headers={**renter.headers, "Content-Type": "application/json"})
    assert resp.status_code == 422
    assert field in [f["field"] for f in resp.json()["error"]["fields"]]


async def test_bad_paging_parameters_are_4xx(client, factory):
    booking_id, renter, _ = await new_booking(factory)
    conversation_id = await open_conversation(client, booking_id, renter)
    url = f"/v1/conversations/{conversation_id}/messages"
    for params in ({"order": "sideways"}, {"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}):
        resp = await client.get(url, params=params, headers=renter.headers)
        assert 400 <= resp.status_code < 500, (params, resp.text)
