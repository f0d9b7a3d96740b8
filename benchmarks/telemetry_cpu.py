"""What the API's telemetry costs per request, measured in-process: a low-noise companion to
benchmarks.telemetry (wrk throughput swings by ±0.15 on a shared machine).

    make bench BENCH=telemetry_cpu          # or: .venv/bin/python -m benchmarks.telemetry_cpu
    BENCH_REQUESTS=1500 BENCH_ROUNDS=3 BENCH_MODES=off,metrics,full,...   (defaults)
    BENCH_COUNT=instructions make bench BENCH=telemetry_cpu   # instructions per request, under callgrind
    BENCH_ENDPOINTS="trivial,vehicle detail (hit)"            # a subset of the endpoints (default all)

Each (round, mode) is a fresh child process (telemetry is configured per process) that builds the real
app with api.app.create_app, runs its lifespan and calls it as an ASGI application, the way uvicorn
does, with one event-loop turn after each request (so the log sink flushes per request, its worst case):
100 warm-up requests, then BENCH_REQUESTS measured ones per endpoint. Modes are interleaved, order
rotated per round; the report is the median per request and its difference to ``off`` in the same run.
Before the measured window ends, pending spans are exported (force_flush), so the exporter's work counts.

``BENCH_COUNT=cpu`` (default) counts ``time.process_time`` (all threads). ``BENCH_COUNT=instructions``
runs each child under valgrind's callgrind and counts user-space instructions in the measured window
(callgrind_control zeroes and dumps the counters around it): the same figure on every run whatever else
the machine is doing (one round is enough; it takes about a minute per mode, children two at a time).
Neither counts what uvicorn adds per request (HTTP parsing, socket calls) nor kernel time (the log
writes' syscalls), which is in both modes alike or small: the ratios off/mode here are lower than the
server's, the differences are the telemetry's own cost.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import callgrind_window

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.settings import names, positive_int

REQUESTS = positive_int("BENCH_REQUESTS", 1500)
COUNT = os.environ.get("BENCH_COUNT", "cpu")
ROUNDS = positive_int("BENCH_ROUNDS", 1 if COUNT == "instructions" else 3)
UNIT = "instructions" if COUNT == "instructions" else "µs"
MODES: dict[str, dict[str, str]] = {
    "off": {"ISLAND_TELEMETRY": "off"},
    "metrics": {"ISLAND_TELEMETRY": "metrics"},
    "metrics+logs": {"ISLAND_TELEMETRY": "metrics,logs"},
    "metrics+traces 10%": {"ISLAND_TELEMETRY": "metrics,traces", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "full 10%": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "full 100%": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "1.0"},
    "full 0%": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "0"},  # the unsampled path alone
    "full 100% protobuf": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "1.0",
                           "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
}


def _settings(dsn: str, redis: str) -> Any:
    from api.settings import load_settings

    # Background loops (outbox poll, booking sweep) as rare as allowed: their work is not per request.
    return load_settings(environment="test", database_url=dsn, redis_url=redis, log_dir=tempfile.mkdtemp(),
                         rate_limit_anonymous=10**9, rate_limit_authenticated=10**9, db_pool_min_size=2,
                         email_poll_interval_s=300, booking_sweep_interval_s=3600)


class AsgiClient:
    """GET requests straight into the ASGI app, scope as uvicorn builds it (no HTTP client in the way)."""

    def __init__(self, app: Any, state: dict[str, Any] | None) -> None:
        self.app, self.state = app, state or {}

    async def get(self, target: str) -> int:
        path, _, query = target.partition("?")
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
                 "query_string": query.encode(), "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
                 "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")],
                 "state": self.state.copy()}
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        await asyncio.sleep(0)  # one loop turn, as between requests under uvicorn: the log sink flushes
        return status


class Counter:
    """Per-window cost: process CPU µs, or (under callgrind) instructions."""

    def __init__(self) -> None:
        self.instructions = COUNT == "instructions"
        self.dump = Path(os.environ.get("BENCH_CALLGRIND_OUT", "callgrind.out"))
        self._start = 0.0

    def start(self) -> None:
        if self.instructions:
            callgrind_window.zero()
        self._start = time.process_time()

    def stop(self) -> float:
        if not self.instructions:
            return (time.process_time() - self._start) * 1e6
        return float(callgrind_window.instructions(self.dump))


ENDPOINTS = ("trivial", "vehicle detail (hit)", "search (miss)")  # the keys of measure()'s paths


async def measure(dsn: str, redis: str, vehicle_id: str) -> dict[str, float]:
    """Cost per request for each endpoint, in this process's telemetry mode."""
    from api.app import create_app
    from exporters import tracing

    app = create_app(_settings(dsn, redis))
    paths: dict[str, Callable[[int], str]] = {
        "trivial": lambda i: "/livez", "vehicle detail (hit)": lambda i: f"/v1/vehicles/{vehicle_id}",
        "search (miss)": lambda i: f"/v1/vehicles?price_max={10000 + (i * 7919) % 9_000_000}"}
    paths = {name: paths[name] for name in names("BENCH_ENDPOINTS", ENDPOINTS)}
    out: dict[str, float] = {}
    salt = os.getpid() * REQUESTS  # a different price_max sequence per child: every search misses the cache
    counter = Counter()
    async with app.router.lifespan_context(app) as state:
        client = AsgiClient(app, state)  # type: ignore[arg-type]
        for name, path in paths.items():
            for i in range(100):
                status = await client.get(path(salt + i))
                if status != 200:
                    raise SystemExit(f"{name}: HTTP {status}")
            if tracing._provider is not None:
                tracing._provider.force_flush()
            counter.start()
            for i in range(100, 100 + REQUESTS):
                await client.get(path(salt + i))
            if tracing._provider is not None:
                tracing._provider.force_flush()  # the spans of this window are exported inside it
            out[name] = counter.stop() / REQUESTS
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


def run_child(mode: str, args: list[str], sink: str, work: Path) -> dict[str, float]:
    env = {**os.environ, **MODES[mode], "ISLAND_TELEMETRY_EXCLUDED_PATHS": "/metrics",
           "OTEL_EXPORTER_OTLP_ENDPOINT": sink, "LOG_LEVEL": "info"}
    argv = [sys.executable, "-m", "benchmarks.telemetry_cpu", "child", *args]
    if COUNT == "instructions":
        out = work / re.sub(r"\W+", "-", mode) / "callgrind.out"
        out.parent.mkdir(exist_ok=True)
        env["BENCH_CALLGRIND_OUT"] = str(out)
        # Counting starts at zero in the child (callgrind_control --zero); --dump-instr=no keeps dumps small.
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no", *argv]
    done = subprocess.run(argv, env=env, cwd=str(REPO), capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{mode}: child failed\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "child":
        print(json.dumps(asyncio.run(measure(*sys.argv[2:]))))
        return
    if COUNT not in ("cpu", "instructions"):
        sys.exit(f"BENCH_COUNT: {COUNT!r} is not 'cpu' or 'instructions'")
    if COUNT == "instructions" and not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        sys.exit("BENCH_COUNT=instructions needs valgrind (Debian package valgrind)")
    from api.migrate import apply_migrations
    from benchmarks.telemetry import otlp_sink
    from tests.support.services import redis_server, redis_url, temp_database

    names("BENCH_ENDPOINTS", ENDPOINTS)  # an unknown name stops here, before any child starts
    modes = names("BENCH_MODES", list(MODES))
    os.environ["ISLAND_TELEMETRY"] = "off"  # for the seeding app in this process (children get their mode)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the seeding client's request lines
    results: dict[str, list[dict[str, float]]] = {}
    # Instruction counts do not depend on other load: two children at a time. CPU time does: one.
    parallel = 2 if COUNT == "instructions" else 1
    with (temp_database(prefix="island_bench") as dsn, redis_server() as srv, otlp_sink() as sink,
          tempfile.TemporaryDirectory() as work, ThreadPoolExecutor(parallel) as pool):
        apply_migrations(dsn)
        redis = redis_url(srv)
        args = [dsn, redis, asyncio.run(seed(dsn, redis))]
        for round_no in range(ROUNDS):
            order = modes[round_no % len(modes):] + modes[:round_no % len(modes)]
            futures = {mode: pool.submit(run_child, mode, args, sink, Path(work)) for mode in order}
            for mode, future in futures.items():
                results.setdefault(mode, []).append(future.result())
                print(f"round {round_no + 1} {mode}: " + ", ".join(
                    f"{k}={v:,.0f}" for k, v in results[mode][-1].items()) + f" {UNIT}/request", flush=True)
    report(results)


def report(results: dict[str, list[dict[str, float]]]) -> None:
    medians = {mode: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for mode, runs in results.items()}
    base = medians.get("off")
    print(f"\n{'CPU µs' if UNIT == 'µs' else 'Instructions'} per request (median of {ROUNDS} interleaved "
          f"round(s), {REQUESTS} requests each; in brackets: minus off, and off/mode)")
    endpoints = list(next(iter(medians.values())))
    print(f"{'mode':22}" + "".join(f"{e:>32}" for e in endpoints))
    for mode, row in medians.items():
        cells = [f"{row[e]:,.0f}" + (f" (+{row[e] - base[e]:,.0f}, {base[e] / row[e]:.2f})" if base else "")
                 for e in endpoints]
        print(f"{mode:22}" + "".join(f"{c:>32}" for c in cells))


if __name__ == "__main__":
    main()
