"""Real concurrency against a real uvicorn (its pool lends up to 10 connections at once, so the 20
inserts really race in Postgres): 20 renters racing for the same car and dates get exactly one 201 and
nineteen 409s, and the database holds one live booking. (One worker process: a second one costs
~6 s of start-up on a loaded CI box and adds no concurrency the pool does not already give.)"""
import asyncio

import httpx
import pytest

from tests.api.booking_helpers import WEBHOOK_SECRET, stay


@pytest.fixture
def settings_overrides(localstripe_url):
    return {"stripe_api_base": localstripe_url, "stripe_webhook_secret": WEBHOOK_SECRET}


async def test_twenty_concurrent_requests_one_booking(factory, live_api):
    vehicle = await factory.vehicle()
    renters = [await factory.renter() for _ in range(20)]
    body = stay(vehicle, start_in=20, nights=4)
    with live_api(workers=1, db_pool_min_size=10, db_pool_max_size=10) as api:
        async with httpx.AsyncClient(base_url=api.url, timeout=30,
                                     limits=httpx.Limits(max_connections=20)) as http:
            await http.get("/livez")  # the server is up before the race starts
            answers = await asyncio.gather(*(http.post("/v1/bookings", json=body, headers=r.headers)
                                             for r in renters))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 19, [a.text for a in answers if a.status_code not in (201, 409)]
    refused = [a.json()["error"] for a in answers if a.status_code == 409]
    assert {e["message"] for e in refused} == {"vehicle not available for these dates"}
    live = await factory.sql("SELECT count(*) FROM bookings WHERE vehicle_id = %s AND status = 'pending'",
                             (vehicle["id"],))
    assert live == [(1,)]


async def test_racing_pay_and_decline_never_charge_a_declined_booking(client, factory):
    """The renter pays while the host declines: the row lock lets exactly one win, and a declined
    booking never has a successful charge."""
    host, renter = await factory.host(), await factory.renter()
    vehicle = await factory.vehicle(host)
    for round_no in range(3):
        booking = (await client.post("/v1/bookings", json=stay(vehicle, start_in=30 + 5 * round_no, nights=2),
                                     headers=renter.headers)).json()
        paid, declined = await asyncio.gather(
            client.post(f"/v1/bookings/{booking['id']}/pay", json={"payment_method": "pm_card_visa"},
                        headers=renter.headers),
            client.post(f"/v1/bookings/{booking['id']}/decline", headers=host.headers))
        assert sorted([paid.status_code, declined.status_code]) == [200, 409]
        final = (await client.get(f"/v1/bookings/{booking['id']}", headers=renter.headers)).json()["status"]
        charges = await factory.sql("SELECT count(*) FROM payments WHERE booking_id = %s AND status = 'succeeded'",
                                    (booking["id"],))
        assert (final, charges) in [("confirmed", [(1,)]), ("declined", [(0,)])]
