"""Real concurrency against a real uvicorn (its pool lends up to 10 connections at once, so the 20
inserts really race in Postgres): 20 renters racing for the same car and dates get exactly one 201 and
nineteen 409s, and the database holds one live booking. (One worker process: a second one costs
~6 s of start-up on a loaded CI box and adds no concurrency the pool does not already give.)"""
import asyncio

import httpx

from tests.api.booking_helpers import stay


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
