"""What the API's Redis cache buys and what its rate limiter costs, measured with wrk on 127.0.0.1.

Run: ``make bench BENCH=api_cache`` (``BENCH_ROUNDS`` rounds of ``BENCH_SECONDS`` s per server and endpoint).

Three ``island-api serve`` processes (one worker each) share one seeded database:
- ``cached``: Redis cache on, rate limiter off;
- ``uncached`` (the baseline): the same with REDIS_URL pointing at a closed port, so every request reads
  Postgres (the breaker keeps the dead Redis from costing more than one refused connect per 2 s);
- ``limited``: cache on and the rate limiter on (limits raised so nothing is refused): its cost is the
  ratio limited / cached.
Rounds are interleaved (the server order rotates every round) and each ratio is the median of the
per-round ratios of requests per second.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from api.migrate import apply_migrations
from api.seed import seed
from api.settings import load_settings
from benchmarks.settings import positive_int
from tests.support.services import free_port, redis_server, redis_url, temp_database, wait_for_port

ROUNDS = positive_int("BENCH_ROUNDS", 5)
SECONDS = positive_int("BENCH_SECONDS", 3)
ROOT = Path(__file__).resolve().parents[1]
START = date.today() + timedelta(days=20)
ENDPOINTS = {
    "search": "/v1/vehicles?island=nassau&sort=rating&limit=20",
    "search+dates": f"/v1/vehicles?start_date={START}&end_date={START + timedelta(days=5)}&sort=price_asc&limit=20",
    "detail": "/v1/vehicles/1",
}


@contextlib.contextmanager
def api_server(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=30, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def wrk(url: str, seconds: int) -> float:
    """Requests per second (non-2xx responses make the run invalid)."""
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", url], capture_output=True, text=True,
                         check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors on {url}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> None:
    with temp_database(prefix="island_bench_api") as dsn, redis_server() as redis:
        apply_migrations(dsn)
        base = {"DATABASE_URL": dsn, "ENVIRONMENT": "test", "ARGON2_MEMORY_KIB": "1024", "ARGON2_TIME_COST": "1",
                "RATE_LIMIT_ANONYMOUS": "100000000", "LOG_DIR": "/tmp/island-bench-logs"}
        asyncio.run(seed(load_settings(database_url=dsn, argon2_memory_kib=1024, argon2_time_cost=1)))
        live, dead = redis_url(redis), f"redis://127.0.0.1:{free_port()}/0"
        configs = {"cached": {"REDIS_URL": live, "RATE_LIMIT_ENABLED": "false"},
                   "uncached": {"REDIS_URL": dead, "RATE_LIMIT_ENABLED": "false"},
                   "limited": {"REDIS_URL": live, "RATE_LIMIT_ENABLED": "true"}}
        with contextlib.ExitStack() as stack:
            urls = {name: stack.enter_context(api_server({**base, **env})) for name, env in configs.items()}
            rps: dict[tuple[str, str], list[float]] = {}
            for endpoint, path in ENDPOINTS.items():
                for url in urls.values():
                    wrk(url + path, 1)  # warm-up: pool connections, first cache fill
                for r in range(ROUNDS):
                    names = list(urls)[r % 3:] + list(urls)[:r % 3]
                    for name in names:
                        rps.setdefault((endpoint, name), []).append(wrk(urls[name] + path, SECONDS))
        report(rps)


def report(rps: dict[tuple[str, str], list[float]]) -> None:
    print(f"wrk -t2 -c32, {ROUNDS} interleaved rounds x {SECONDS}s, one uvicorn worker per server")
    print(f"{'endpoint':<14}{'uncached rps':>14}{'cached rps':>12}{'cached/uncached':>17}{'limited/cached':>16}")
    for endpoint in ENDPOINTS:
        un, ca, li = (rps[(endpoint, n)] for n in ("uncached", "cached", "limited"))
        cache_ratio = statistics.median(c / u for c, u in zip(ca, un))
        limit_ratio = statistics.median(x / c for x, c in zip(li, ca))
        print(f"{endpoint:<14}{statistics.median(un):>14.0f}{statistics.median(ca):>12.0f}"
              f"{cache_ratio:>17.2f}{limit_ratio:>16.2f}")


if __name__ == "__main__":
    main()
