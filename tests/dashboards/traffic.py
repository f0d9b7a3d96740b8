"""A little of everything the API measures, sent to a live API so every API panel has something to show."""
from __future__ import annotations

import httpx
import websockets

from tests.api.booking_helpers import book, pay
from tests.api.support import Factory

ANONYMOUS_LIMIT = 20  # the API under test allows this many anonymous /v1 requests per window


async def generate(api_url: str, database_url: str) -> None:
    """Users, a vehicle, cache misses and hits, a booking paid through localstripe, a 404, WebSocket pings,
    and an anonymous burst past the rate limit (429s)."""
    async with httpx.AsyncClient(base_url=api_url, timeout=15.0) as client:
        factory = Factory(client, database_url)
        try:
            host, renter = await factory.host(), await factory.renter()  # 4 anonymous requests
            vehicle = await factory.vehicle(host)
            for _ in range(3):
                await client.get("/v1/vehicles", params={"island": "nassau"}, headers=renter.headers)
                await client.get(f"/v1/vehicles/{vehicle['id']}", headers=renter.headers)
            booking = await book(client, renter, vehicle)
            await pay(client, renter, booking["id"])
            await client.get("/v1/no-such-route", headers=renter.headers)
            ws_url = api_url.replace("http://", "ws://") + "/v1/ws/ping"
            async with websockets.connect(ws_url) as socket:
                for _ in range(3):
                    await socket.send("ping")
                    await socket.recv()
            statuses = [(await client.get("/v1/islands")).status_code for _ in range(ANONYMOUS_LIMIT + 10)]
            assert 429 in statuses, f"the anonymous burst was never limited: {sorted(set(statuses))}"
        finally:
            await factory.close()
