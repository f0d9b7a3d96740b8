"""Bookings over HTTP: quote, create, list, get, approve, decline, and every refusal with its field."""
import asyncio

import pytest

from api.bookings.pricing import DeliveryOption, VehicleRates, price
from tests.api.booking_helpers import assert_error, book, days, stay


@pytest.fixture
async def car(factory):
    host = await factory.host()
    vehicle = await factory.vehicle(host, daily_rate_cents=8_900, weekly_discount_pct=10, monthly_discount_pct=25,
                                    delivery_fee_cents=2_500, airport_fee_cents=3_500, min_days=2, max_days=30)
    return host, vehicle


RATES = VehicleRates(daily_rate_cents=8_900, weekly_discount_pct=10, monthly_discount_pct=25,
                     delivery_fee_cents=2_500, airport_fee_cents=3_500, security_deposit_cents=25_000)


async def test_quote_needs_no_account_and_prices_on_server(client, car):
    _, vehicle = car
    resp = await client.post("/v1/bookings/quote", json=stay(vehicle, 5, 7, delivery="airport"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["available"] is True
    assert body["price"] == price(RATES, 7, DeliveryOption.AIRPORT).as_dict()
    assert body["price"]["discount_pct"] == 10 and body["price"]["fees_cents"] == 3_500


@pytest.mark.parametrize("change, field", [
    ({"end_date": days(9)}, "body.end_date"),                          # end before start
    ({"end_date": days(10)}, "body.end_date"),                         # zero nights
    ({"start_date": days(-1)}, "body.start_date"),                     # in the past
    ({"end_date": days(11)}, "body.end_date"),                         # 1 night < min_days 2
    ({"end_date": days(41)}, "body.end_date"),                         # 31 nights > max_days 30
    ({"vehicle_id": 999_999_999}, "body.vehicle_id"),                  # unknown vehicle
    ({"vehicle_id": 2**63}, "body.vehicle_id"),                        # beyond bigint
    ({"vehicle_id": "abc"}, "body.vehicle_id"),                        # wrong type
    ({"delivery": "helicopter"}, "body.delivery"),
    ({"start_date": "2030-02-30"}, "body.start_date"),
    ({"total_cents": 1}, "body.total_cents"),                          # the client never sets a price
])
async def test_quote_and_create_refuse_bad_input_naming_the_field(client, factory, car, change, field):
    _, vehicle = car
    renter = await factory.renter()
    body = {**stay(vehicle, 10, 3), **change}
    assert_error(await client.post("/v1/bookings/quote", json=body), 422, field)
    assert_error(await client.post("/v1/bookings", json=body, headers=renter.headers), 422, field)


async def test_unlisted_vehicle_cannot_be_booked(client, factory):
    vehicle = await factory.vehicle(listed=False)
    renter = await factory.renter()
    assert_error(await client.post("/v1/bookings", json=stay(vehicle), headers=renter.headers), 422,
                 "body.vehicle_id")


async def test_create_snapshots_the_server_price(client, factory, car):
    host, vehicle = car
    renter = await factory.renter()
    booking = await book(client, renter, vehicle, 10, 28, delivery="delivery")
    assert booking["status"] == "pending"
    assert booking["price"] == price(RATES, 28, DeliveryOption.DELIVERY).as_dict()
    assert (booking["renter_id"], booking["host_id"]) == (renter.id, host.id)
    assert booking["expires_at"] is not None and booking["approved"] is False
    # the host changing the rate later does not change the booking
    await factory.sql("UPDATE vehicles SET daily_rate_cents = 1 WHERE id = %s", (vehicle["id"],))
    again = await client.get(f"/v1/bookings/{booking['id']}", headers=renter.headers)
    assert again.json()["price"]["total_cents"] == booking["price"]["total_cents"]
    events = await factory.sql("SELECT from_status, to_status, actor_role FROM booking_events WHERE booking_id = %s",
                               (booking["id"],))
    assert events == [(None, "pending", "renter")]


async def test_overlap_is_409_and_adjacent_stays_are_fine(client, factory, car):
    _, vehicle = car
    first, second = await factory.renter(), await factory.renter()
    await book(client, first, vehicle, 10, 3)                   # [d10, d13)
    resp = await client.post("/v1/bookings", json=stay(vehicle, 12, 3), headers=second.headers)
    error = assert_error(resp, 409)
    assert error["message"] == "vehicle not available for these dates"
    quote = await client.post("/v1/bookings/quote", json=stay(vehicle, 12, 3))
    assert quote.json()["available"] is False
    await book(client, second, vehicle, 13, 2)                  # starts on the first one's return day


async def test_only_renters_book(client, factory, car):
    host, vehicle = car
    assert_error(await client.post("/v1/bookings", json=stay(vehicle)), 401)
    assert_error(await client.post("/v1/bookings", json=stay(vehicle), headers=host.headers), 403)


async def test_get_is_for_renter_and_host_only(client, factory, car):
    host, vehicle = car
    renter, stranger = await factory.renter(), await factory.renter()
    booking = await book(client, renter, vehicle)
    for who in (renter, host):
        resp = await client.get(f"/v1/bookings/{booking['id']}", headers=who.headers)
        assert resp.status_code == 200 and resp.json()["id"] == booking["id"]
    assert_error(await client.get(f"/v1/bookings/{booking['id']}", headers=stranger.headers), 404)
    assert_error(await client.get("/v1/bookings/987654321", headers=renter.headers), 404)
    assert_error(await client.get(f"/v1/bookings/{2**63}", headers=renter.headers), 422)
    assert_error(await client.get(f"/v1/bookings/{booking['id']}"), 401)


async def test_list_pages_my_bookings_as_renter_and_host(client, factory, car):
    host, vehicle = car
    renter = await factory.renter()
    ids = [(await book(client, renter, vehicle, 10 + 3 * i, 2))["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/bookings", params=params, headers=renter.headers)).json()
        seen += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    as_host = (await client.get("/v1/bookings", params={"role": "host"}, headers=host.headers)).json()
    assert {b["id"] for b in as_host["items"]} == set(ids)
    as_renter = (await client.get("/v1/bookings", params={"role": "renter"}, headers=host.headers)).json()
    assert as_renter["items"] == []
    pending = (await client.get("/v1/bookings", params={"status": "cancelled"}, headers=renter.headers)).json()
    assert pending["items"] == []
    assert_error(await client.get("/v1/bookings", params={"cursor": "x1"}, headers=renter.headers), 400,
                 "query.cursor")
    assert_error(await client.get("/v1/bookings", params={"limit": 51}, headers=renter.headers), 422, "query.limit")
    assert_error(await client.get("/v1/bookings", params={"status": "lost"}, headers=renter.headers), 422,
                 "query.status")


async def test_host_approves_then_declining_is_refused(client, factory, car):
    host, vehicle = car
    renter = await factory.renter()
    booking = await book(client, renter, vehicle)
    url = f"/v1/bookings/{booking['id']}"
    assert_error(await client.post(f"{url}/approve", headers=renter.headers), 403)
    resp = await client.post(f"{url}/approve", headers=host.headers)
    assert resp.status_code == 200 and resp.json()["approved"] is True and resp.json()["status"] == "pending"
    error = assert_error(await client.post(f"{url}/approve", headers=host.headers), 409)
    assert error["current_status"] == "pending"


async def test_decline_frees_the_dates_and_is_final(client, factory, car):
    host, vehicle = car
    renter, other = await factory.renter(), await factory.renter()
    booking = await book(client, renter, vehicle)
    url = f"/v1/bookings/{booking['id']}"
    assert_error(await client.post(f"{url}/decline", headers=renter.headers), 403)
    resp = await client.post(f"{url}/decline", json={"reason": "car in the shop"}, headers=host.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "declined"
    error = assert_error(await client.post(f"{url}/decline", headers=host.headers), 409)
    assert error["current_status"] == "declined"
    history = (await client.get(f"{url}/events", headers=renter.headers)).json()
    assert [(e["from_status"], e["to_status"], e["actor_role"], e["note"]) for e in history] == [
        (None, "pending", "renter", None), ("pending", "declined", "host", "car in the shop")]
    assert_error(await client.get(f"{url}/events", headers=other.headers), 404)
    error = assert_error(await client.post(f"{url}/cancel", headers=renter.headers), 409)
    assert error["current_status"] == "declined"
    await book(client, other, vehicle)  # the same dates are bookable again


async def test_foreign_booking_actions_are_404(client, factory, car):
    _, vehicle = car
    renter, stranger = await factory.renter(), await factory.renter()
    booking = await book(client, renter, vehicle)
    for action in ("cancel", "approve", "decline", "check-in", "check-out"):
        assert_error(await client.post(f"/v1/bookings/{booking['id']}/{action}", headers=stranger.headers), 404)


async def test_idempotency_key_makes_create_retry_safe(client, factory, car):
    _, vehicle = car
    renter = await factory.renter()
    headers = {**renter.headers, "Idempotency-Key": "checkout-7f3a"}
    first = await client.post("/v1/bookings", json=stay(vehicle), headers=headers)
    again = await client.post("/v1/bookings", json=stay(vehicle), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = await client.post("/v1/bookings", json=stay(vehicle, 20), headers=headers)
    assert_error(other, 422, "header.Idempotency-Key")
    # the key is the renter's own: another renter's identical key is a separate request (and a conflict)
    stranger = {**(await factory.renter()).headers, "Idempotency-Key": "checkout-7f3a"}
    assert_error(await client.post("/v1/bookings", json=stay(vehicle), headers=stranger), 409)
    assert_error(await client.post("/v1/bookings", json=stay(vehicle, 30),
                                   headers={**renter.headers, "Idempotency-Key": "bad key"}), 422,
                 "header.Idempotency-Key")


async def test_concurrent_retries_with_one_key_create_one_booking(client, factory, car):
    _, vehicle = car
    renter = await factory.renter()
    headers = {**renter.headers, "Idempotency-Key": "double-submit"}
    answers = await asyncio.gather(*(client.post("/v1/bookings", json=stay(vehicle, 15), headers=headers)
                                     for _ in range(5)))
    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.json()["id"] for a in answers}) == 1
    rows = await factory.sql("SELECT count(*) FROM bookings WHERE renter_id = %s", (renter.id,))
    assert rows == [(1,)]
