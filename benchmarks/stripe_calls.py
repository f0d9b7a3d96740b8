"""Why the API calls Stripe with ``*_async``: what each way of calling costs the event loop.

    make bench BENCH=stripe_calls          # or: .venv/bin/python -m benchmarks.stripe_calls
    BENCH_ROUNDS=5 BENCH_CONCURRENCY=20    (defaults)

Against a local localstripe, each sample fires BENCH_CONCURRENCY PaymentIntent creations (create +
confirm with ``pm_card_visa``, what ``POST /v1/bookings/{id}/pay`` does) at once, while a ticker
coroutine asks to wake up every millisecond and records how late it wakes (the event-loop lag every
other request of the process would see). Three ways of calling, interleaved in every round:

- ``async``       (baseline, what api.payments.gateway does): ``create_async`` on an httpx client;
- ``to_thread``:  the synchronous ``create`` in ``asyncio.to_thread``;
- ``sync``:       the synchronous ``create`` called straight from the coroutine (blocks the loop).

All three use the same ``stripe.HTTPXClient`` transport. Reported per mode: median wall time of a
burst and median worst loop lag, and the median over rounds of each round's ratio against ``async``.
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import stripe

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.settings import positive_int
from tests.support.services import localstripe

ROUNDS = positive_int("BENCH_ROUNDS", 5)
CONCURRENCY = positive_int("BENCH_CONCURRENCY", 20)
PARAMS = {"amount": 12_345, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}


def make_client(url: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_12345", base_addresses={"api": url}, max_network_retries=0,
                               http_client=stripe.HTTPXClient(allow_sync_methods=True))


async def ticker(stop: asyncio.Event, lags: list[float]) -> None:
    """Sleep 1 ms at a time and record how late each wake-up is."""
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - asked - 0.001)


def modes(client: stripe.StripeClient) -> dict[str, Callable[[], Awaitable[object]]]:
    intents = client.v1.payment_intents

    async def blocking() -> object:
        return intents.create(PARAMS)  # type: ignore[arg-type]

    return {
        "async": lambda: intents.create_async(PARAMS),  # type: ignore[arg-type]
        "to_thread": lambda: asyncio.to_thread(intents.create, PARAMS),  # type: ignore[arg-type]
        "sync": blocking,
    }


async def burst(call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(wall seconds for CONCURRENCY calls at once, worst event-loop lag in seconds)."""
    stop, lags = asyncio.Event(), [0.0]
    tick = asyncio.create_task(ticker(stop, lags))
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    results = await asyncio.gather(*(call() for _ in range(CONCURRENCY)))
    wall = time.perf_counter() - started
    stop.set()
    await tick
    assert all(getattr(r, "status", None) == "succeeded" for r in results)
    return wall, max(lags)


async def main() -> None:
    with localstripe() as server:
        client = make_client(server.url)
        calls = modes(client)
        await burst(calls["async"])  # warm-up: connections, localstripe's first objects
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
        names = list(calls)
        for round_no in range(ROUNDS):
            order = names[round_no % len(names):] + names[:round_no % len(names)]  # rotate: no mode always first
            for name in order:
                samples[name].append(await burst(calls[name]))
    report(samples)


def report(samples: dict[str, list[tuple[float, float]]]) -> None:
    base = samples["async"]
    print(f"stripe_calls: {ROUNDS} rounds x {CONCURRENCY} concurrent PaymentIntent create+confirm on localstripe")
    print(f"{'mode':<10} {'burst ms':>9} {'worst lag ms':>13} {'burst / async':>14} {'lag / async':>12}")
    for name, rows in samples.items():
        wall = statistics.median(r[0] for r in rows) * 1000
        lag = statistics.median(r[1] for r in rows) * 1000
        wall_ratio = statistics.median(r[0] / b[0] for r, b in zip(rows, base))
        lag_ratio = statistics.median(r[1] / max(b[1], 1e-6) for r, b in zip(rows, base))
        print(f"{name:<10} {wall:>9.1f} {lag:>13.1f} {wall_ratio:>13.2f}x {lag_ratio:>11.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
