"""CPU time per request of the API in each telemetry mode, measured in-process: a low-noise companion to
benchmarks.telemetry (wrk throughput swings by ±0.15 on a shared machine; process CPU time per request
much less, since waiting on Postgres/Redis or for the core is not counted).

    make bench BENCH=telemetry_cpu          # or: .venv/bin/python -m benchmarks.telemetry_cpu
    BENCH_REQUESTS=1500 BENCH_ROUNDS=3 BENCH_MODES=off,metrics,full,...   (defaults)

Each (round, mode) is a fresh child process (telemetry is configured per process) that builds the real
app with api.app.create_app, runs its lifespan, and drives it through httpx.ASGITransport: 100 warm-up
requests then BENCH_REQUESTS timed ones per endpoint, ``time.process_time`` (all threads, so the span
exporter's thread counts too). Modes are interleaved, order rotated per round; the report is the median
µs per request and its difference to ``off`` measured in the same run. The httpx client's own cost is in
every mode alike, so the differences are the telemetry's; the ratios off/mode understate the server-only
ratio for the same reason.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
MODES: dict[str, dict[str, str]] = {
    "off": {"ISLAND_TELEMETRY": "off"},
    "metrics": {"ISLAND_TELEMETRY": "metrics"},
    "metrics+logs": {"ISLAND_TELEMETRY": "metrics,logs"},
    "metrics+traces 10%": {"ISLAND_TELEMETRY": "metrics,traces", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "full 10%": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "full 100%": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "1.0"},
    "full 100% protobuf": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "1.0",
                           "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
}


def _settings(dsn: str, redis: str) -> Any:
    from api.settings import load_settings

    return load_settings(environment="test", database_url=dsn, redis_url=redis, log_dir=tempfile.mkdtemp(),
                         rate_limit_anonymous=10**9, rate_limit_authenticated=10**9, db_pool_min_size=2)


async def measure(dsn: str, redis: str, vehicle_id: str) -> dict[str, float]:
    """µs of process CPU per request for each endpoint, in this process's telemetry mode."""
    import httpx

    from api.app import create_app

    app = create_app(_settings(dsn, redis))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the client's own log line is no API cost
    paths = {"trivial": lambda i: "/livez", "vehicle detail (hit)": lambda i: f"/v1/vehicles/{vehicle_id}",
             "search (miss)": lambda i: f"/v1/vehicles?price_max={10000 + (i * 7919) % 9_000_000}"}
    out: dict[str, float] = {}
    salt = os.getpid() * REQUESTS  # a different price_max sequence per child: every search misses the cache
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client):
        for name, path in paths.items():
            for i in range(100):
                resp = await client.get(path(salt + i))
                if resp.status_code != 200:
                    raise SystemExit(f"{name}: {resp.status_code} {resp.text[:200]}")
            start = time.process_time()
            for i in range(100, 100 + REQUESTS):
                await client.get(path(salt + i))
            out[name] = (time.process_time() - start) / REQUESTS * 1e6
    return out


async def seed(dsn: str, redis: str) -> str:
    """A host with a dozen vehicles; returns one vehicle id."""
    import httpx

    from api.app import create_app
    from tests.api.support import Factory

    app = create_app(_settings(dsn, redis))
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client):
        factory = Factory(client, dsn)
        host = await factory.host()
        vehicles = [await factory.vehicle(host, daily_rate_cents=5000 + 100 * i) for i in range(12)]
        await factory.close()
        return str(vehicles[0]["id"])


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "child":
        print(json.dumps(asyncio.run(measure(*sys.argv[2:]))))
        return
    from api.migrate import apply_migrations
    from benchmarks.telemetry import otlp_sink
    from tests.support.services import redis_server, redis_url, temp_database

    modes = os.environ.get("BENCH_MODES", ",".join(MODES)).split(",")
    os.environ["ISLAND_TELEMETRY"] = "off"  # for the seeding app in this process (children get their mode)
    results: dict[str, list[dict[str, float]]] = {}
    with temp_database(prefix="island_bench") as dsn, redis_server() as srv, otlp_sink() as sink:
        apply_migrations(dsn)
        redis = redis_url(srv)
        vehicle_id = asyncio.run(seed(dsn, redis))
        for round_no in range(ROUNDS):
            for mode in modes[round_no % len(modes):] + modes[:round_no % len(modes)]:
                env = {**os.environ, **MODES[mode], "ISLAND_TELEMETRY_EXCLUDED_PATHS": "/metrics",
                       "OTEL_EXPORTER_OTLP_ENDPOINT": sink, "LOG_LEVEL": "info"}
                done = subprocess.run([sys.executable, "-m", "benchmarks.telemetry_cpu", "child", dsn, redis,
                                       vehicle_id], env=env, cwd=str(REPO), capture_output=True, text=True,
                                      check=False)
                if done.returncode:
                    sys.exit(f"{mode}: child failed\n{done.stderr[-2000:]}")
                results.setdefault(mode, []).append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"round {round_no + 1} {mode}: " + ", ".join(
                    f"{k}={v:.0f}us" for k, v in results[mode][-1].items()), flush=True)
    report(results)


def report(results: dict[str, list[dict[str, float]]]) -> None:
    medians = {mode: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for mode, runs in results.items()}
    base = medians.get("off")
    print(f"\nCPU µs per request (median of {ROUNDS} interleaved rounds, {REQUESTS} requests each; "
          "in brackets: minus off, and off/mode)")
    endpoints = list(next(iter(medians.values())))
    print(f"{'mode':22}" + "".join(f"{e:>30}" for e in endpoints))
    for mode, row in medians.items():
        cells = [f"{row[e]:.0f}" + (f" (+{row[e] - base[e]:.0f}, {base[e] / row[e]:.2f})" if base else "")
                 for e in endpoints]
        print(f"{mode:22}" + "".join(f"{c:>30}" for c in cells))


if __name__ == "__main__":
    main()
