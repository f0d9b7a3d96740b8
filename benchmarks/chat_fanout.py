"""What a chat message costs in latency, against the Redis round trip it is built on.

    make bench BENCH=chat_fanout          # or: .venv/bin/python -m benchmarks.chat_fanout
    BENCH_ROUNDS=5 BENCH_MESSAGES=100     (defaults)

Two ``island-api serve`` processes (A and B) share a throwaway database and a throwaway redis-server.
A renter's socket on A sends chat messages; the host has one socket on A and one on B. Each sample is
timed from the send to the arrival on each host socket: *same process* (A → A) and *cross process*
(A → B, the path two workers or two pods take). The baseline, measured interleaved with them (one ping
before every message), is ``/v1/ws/ping`` on A: a WebSocket round trip through Redis pub/sub with no
Postgres. A chat message adds an INSERT into Postgres. Reported: median and p95 per path, and the
median over rounds of each round's median ratio against the ping baseline.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time

import httpx
from websockets.asyncio.client import connect

from api.migrate import apply_migrations
from api.settings import load_settings
from benchmarks.settings import positive_int
from tests.api.support import Factory, live_api_process, settings_env
from tests.support.services import redis_server, redis_url, temp_database

ROUNDS = positive_int("BENCH_ROUNDS", 5)
MESSAGES = positive_int("BENCH_MESSAGES", 100)
# /v1/ws/ping allows a burst of 20 frames per connection: spread the pings over enough connections.
PING_CONNECTIONS = max(1, ROUNDS * MESSAGES // 15 + 1)


async def setup_conversation(base_url: str, database_url: str) -> tuple[int, str, str]:
    """A renter, a host, a vehicle, a booking and its conversation: (conversation id, renter, host token)."""
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30) as client:
        factory = Factory(client, database_url)
        host, renter = await factory.host(), await factory.renter()
        vehicle = await factory.vehicle(host)
        start = dt.date(2032, 3, 1)
        [(booking_id,)] = await factory.sql(
            "INSERT INTO bookings (vehicle_id, renter_id, host_id, status, start_date, end_date, nights,"
            " daily_rate_cents, subtotal_cents, total_cents) VALUES (%s, %s, %s, 'confirmed', %s, %s, 2, 8900,"
            " 17800, 19936) RETURNING id", (vehicle["id"], renter.id, host.id, start, start + dt.timedelta(days=2)))
        await factory.close()
        resp = await client.get(f"/v1/bookings/{booking_id}/conversation", headers=renter.headers)
        return resp.json()["id"], renter.access_token, host.access_token


async def next_message(ws) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "message":
            return frame["message"]


async def measure(a_url: str, b_url: str, conversation_id: int, renter: str, host: str) -> dict[str, list]:
    path = f"/v1/ws/conversations/{conversation_id}"
    per_round: dict[str, list[list[float]]] = {"ping (baseline)": [], "same process": [], "cross process": []}
    async with connect(f"{a_url}{path}?token={renter}", proxy=None) as sender, \
            connect(f"{a_url}{path}?token={host}", proxy=None) as same, \
            connect(f"{b_url}{path}?token={host}", proxy=None) as cross:
        for ws in (sender, same, cross):
            json.loads(await ws.recv())  # ready
        pings = [await connect(f"{a_url}/v1/ws/ping", proxy=None) for _ in range(PING_CONNECTIONS)]
        n = 0
        try:
            for _ in range(ROUNDS):
                samples: dict[str, list[float]] = {k: [] for k in per_round}
                for i in range(MESSAGES):
                    ping = pings[n % len(pings)]
                    n += 1
                    started = time.perf_counter()
                    await ping.send(f"p{i}")
                    await ping.recv()
                    samples["ping (baseline)"].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    await sender.send(json.dumps({"type": "message", "body": f"message {i}"}))
                    await next_message(same)
                    samples["same process"].append(time.perf_counter() - started)
                    await next_message(cross)
                    samples["cross process"].append(time.perf_counter() - started)
                    await next_message(sender)  # the sender's own copy
                for key, values in samples.items():
                    per_round[key].append(values)
        finally:
            for ping in pings:
                await ping.close()
    return per_round


def report(per_round: dict[str, list[list[float]]]) -> None:
    base = [statistics.median(r) for r in per_round["ping (baseline)"]]
    print(f"{ROUNDS} rounds x {MESSAGES} messages, interleaved; latency in ms")
    print(f"{'path':<18}{'median':>9}{'p95':>9}{'x ping (median of rounds)':>28}")
    for key, rounds in per_round.items():
        flat = sorted(v for r in rounds for v in r)
        p95 = flat[int(0.95 * (len(flat) - 1))]
        ratio = statistics.median(statistics.median(r) / b for r, b in zip(rounds, base))
        print(f"{key:<18}{statistics.median(flat) * 1000:>9.2f}{p95 * 1000:>9.2f}{ratio:>28.2f}")


def main() -> None:
    with temp_database(prefix="island_bench_chat") as dsn, redis_server() as redis_srv:
        apply_migrations(dsn)
        settings = load_settings(environment="test", database_url=dsn, redis_url=redis_url(redis_srv),
                                 argon2_time_cost=1, argon2_memory_kib=1024, rate_limit_enabled=False,
                                 chat_frames_per_s=100_000, chat_frame_burst=100_000,
                                 jwt_secret="bench-secret-for-the-chat-benchmark-0123456789")
        env = {**settings_env(settings), "ISLAND_TELEMETRY": "on"}
        with live_api_process(env) as a, live_api_process(env) as b:
            conversation_id, renter, host = asyncio.run(setup_conversation(a.url, dsn))
            report(asyncio.run(measure(a.ws_url, b.ws_url, conversation_id, renter, host)))


if __name__ == "__main__":
    main()
