"""What the API's telemetry costs in throughput: wrk against the API pinned to one core, each telemetry
mode against telemetry off, interleaved in one run.

    make bench BENCH=telemetry            # or: .venv/bin/python -m benchmarks.telemetry
    BENCH_ROUNDS=3 BENCH_SECONDS=2 BENCH_CONNECTIONS=16 BENCH_PROCESSES=2   (defaults)
    BENCH_MODES="full (10%);metrics only"                     (a subset of the modes below; default all
                                                              but the part-alone ones)
    BENCH_PAIRED=1                                            (off and mode under load at once; see below)
    BENCH_PIN_HELPERS=0                                       (leave the bench's helpers unpinned; see below)
    BENCH_ENDPOINTS="trivial,vehicle detail (hit)"            (a subset of the endpoints; default all)
    BENCH_MODES="access log only;traces only (10%);traces only, none sampled"   (each part alone: only
                                                              when named, not in the default run; so is
                                                              "full, logs written every loop turn")

``BENCH_PROCESSES`` API servers per mode run at once (two by default, used in turn from round to round),
every one on core 0 (``taskset -c 0``), all idle but the one under load; wrk runs on core 1. A process
keeps its luck (memory layout) for life, and the rounds' interval does not cover it: with two a role the
paired A/A row read 1.02 [1.02-1.04] and 1.05 [1.00-1.07] over 40 rounds (27 Nov 2026), with six 1.00-1.01
(``BENCH_PROCESSES=6`` with two modes: 24 servers, database pools of 3). The servers start index by
index, every other index in the reverse order, so that neither role of a pair is always the elder (started
role by role, off twins first, the A/A row read 1.00-1.05 in every run of 27 Nov; alternating, 0.99 and
1.00 in the next two). The data
(a host and its vehicles) is made through a server of its own, stopped before they start. A round
measures every (endpoint, mode) pair, modes in an order rotated per round, each as four runs back to
back, off / mode / mode / off (so that a drift of the machine's speed weighs on both sides), and each
ratio is the median over rounds of rps(mode) / rps(off) of those runs.
Endpoints: ``/livez`` (trivial: the benchmark un-excludes it so that it is instrumented), a vehicle
detail (Redis cache hit) and a search whose ``price_max`` a wrk Lua script randomises (a cache miss and a
SQL query each time). Modes: full telemetry at 10% sampling, metrics only, full at 100% sampling (OTLP/HTTP
JSON, the default, and the SDK's OTLP/HTTP protobuf exporter for comparison), and for
comparison opentelemetry-instrumentation-fastapi's FastAPIInstrumentor at 100% and 10% (with the API's
own telemetry off), and an A/A control: a second server with telemetry off, whose ratio shows how far
two identical servers differ in the same run. Every traced mode exports over OTLP/HTTP to a sink in this
process, as production would. Run only when ``BENCH_MODES`` names them: each part alone, the logs written
every loop turn, and "full, nothing per request" (everything configured, nothing of it run per request:
what the configuration alone costs).

``BENCH_PAIRED=1`` loads off and the mode at the same time (two wrk on core 1), twice per cell instead of
four runs in turn: the two servers share core 0, so a change of the machine's speed weighs on both in the
same second, and the throughput ratio is the inverse ratio of their CPU cost per request. Each mode is
paired with "off" twins of its own (``BENCH_PROCESSES`` more off servers per mode), loaded exactly as
often as the mode. Before run P of 26 Nov (README), every mode was paired with the one "off" server,
loaded in every cell, and that server was the slower of two identical ones: the paired A/A read 1.04 and
1.05 on the vehicle detail in runs I and K and up to 1.06 in scratch runs, so paired ratios could flatter
the modes by that much. With twins it read 1.00 over 12 rounds on the vehicle detail and 0.98-1.02 on all
three endpoints in runs P and Q (10 rounds each). Paired runs measure each server with the core switching
between two every few milliseconds (colder caches than alone), so they complement the default rather than
replace it; their rounds agree within a few hundredths where the runs in turn move a lot more (26 Nov: an
A/A of 0.85-1.21 from one run pair to the next).

``BENCH_PIN_HELPERS`` (default 1): this process (the OTLP sink's threads), the redis-server it starts and
the Postgres backends serving the bench database (re-pinned every round) run on core 1 with wrk, so that
core 0 runs the measured server and nothing else of ours. Each median comes with a distribution-free
interval (``median_interval``); a target is marked "ok" when the interval's low end meets it, "ok?" when
only the median does.

Needs: Postgres and Redis as for the tests, ``wrk`` and ``taskset``, 2 cores.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api.migrate import apply_migrations
from api.settings import load_settings
from benchmarks.ab_hooks.sitecustomize import server_env
from benchmarks.settings import flag, names, positive_int, ratio
from tests.api.support import Factory, settings_env
from tests.support.services import free_port, redis_server, redis_url, temp_database, terminate, wait_for_port

ROUNDS = positive_int("BENCH_ROUNDS", 3)
SECONDS = positive_int("BENCH_SECONDS", 2)
CONNECTIONS = positive_int("BENCH_CONNECTIONS", 16)
PAIRED = flag("BENCH_PAIRED", False)
PROCESSES = positive_int("BENCH_PROCESSES", 2)
PIN_HELPERS = flag("BENCH_PIN_HELPERS", True)

MODES: dict[str, dict[str, str]] = {
    "off": {"ISLAND_TELEMETRY": "off"},
    # A second server with telemetry off, measured like the modes: its ratio to off is the noise floor of
    # the run (two identical servers differ by this much here).
    "off again (A/A control)": {"ISLAND_TELEMETRY": "off"},
    "full (10%)": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "metrics only": {"ISLAND_TELEMETRY": "metrics"},
    # Each part alone, to price it (not run unless BENCH_MODES names them):
    "access log only": {"ISLAND_TELEMETRY": "logs"},
    "traces only (10%)": {"ISLAND_TELEMETRY": "traces", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "traces only, none sampled": {"ISLAND_TELEMETRY": "traces", "OTEL_TRACES_SAMPLER_ARG": "0"},
    # Full telemetry with the log lines written at the end of every loop iteration, as before 27 Nov 2026
    # (the default gathers them for 20 ms): not run unless named.
    "full, logs written every loop turn": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "0.1",
                                           "ISLAND_LOG_FLUSH_MS": "0"},
    "full, traces 100%": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "1.0"},
    "full, 100%, OTLP protobuf": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "1.0",
                                  "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
    # Full telemetry configured (imports, logging, tracer, /metrics), but none of it run per request: the
    # A/B hooks' "nothing per request" variant held for the server's whole life. Against off it shows what
    # the configuration alone costs (27 Nov 2026, vehicle detail: 1.00 [0.98-1.02]). Not run unless named.
    "full, nothing per request": {"ISLAND_TELEMETRY": "on", "OTEL_TRACES_SAMPLER_ARG": "0.1",
                                  **server_env(["nothing per request"], 10**9, os.devnull)},
    "FastAPIInstrumentor 100%": {"ISLAND_TELEMETRY": "off", "BENCH_OTEL_FASTAPI": "1.0"},
    "FastAPIInstrumentor 10%": {"ISLAND_TELEMETRY": "off", "BENCH_OTEL_FASTAPI": "0.1"},
}


PART_MODES = ("access log only", "traces only (10%)", "traces only, none sampled", "full, logs written every loop turn",
              "full, nothing per request")


def select_modes() -> None:
    """BENCH_MODES="full (10%);metrics only" keeps some modes (";" between them: names hold commas; off
    stays, as the baseline)."""
    global MODES
    if os.environ.get("BENCH_MODES"):
        keep = {"off", *(m.strip() for m in os.environ["BENCH_MODES"].split(";"))}
        if unknown := keep - set(MODES):
            sys.exit(f"BENCH_MODES: unknown mode(s) {sorted(unknown)}; known: {list(MODES)}")
        MODES = {mode: env for mode, env in MODES.items() if mode in keep}
    else:
        MODES = {mode: env for mode, env in MODES.items() if mode not in PART_MODES}


ENDPOINTS = ("trivial", "vehicle detail (hit)", "search (miss)")


def selected_endpoints() -> list[str]:
    """BENCH_ENDPOINTS="trivial,vehicle detail (hit)" keeps some endpoints (default all)."""
    return names("BENCH_ENDPOINTS", ENDPOINTS)


TARGETS = {("full (10%)", "trivial"): 0.75, ("full (10%)", "vehicle detail (hit)"): 0.90,
           ("full (10%)", "search (miss)"): 0.90, ("metrics only", "*"): 0.93, ("full, traces 100%", "*"): 0.50}
# Seeded per wrk process (wrk_at_once passes a fresh seed after "--"): LuaJIT's generator starts from the
# same state in every process, so unseeded runs replayed one sequence of price_max values and, within the
# cache TTL, the "misses" after the first run were hits; and two wrk at once would share one sequence.
SEARCH_LUA = """
init = function(args)
  math.randomseed(tonumber(args[1]))
end
request = function()
  return wrk.format("GET", "/v1/vehicles?price_max=" .. math.random(10000, 9999999))
end
"""


def otel_instrumented_app() -> Any:
    """uvicorn factory: the API with its own telemetry off, traced by FastAPIInstrumentor instead."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from api.app import create_app

    app = create_app()
    provider = TracerProvider(resource=Resource.create({"service.name": "island-api"}),
                              sampler=ParentBased(TraceIdRatioBased(ratio("BENCH_OTEL_FASTAPI", 1.0))))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return app


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts and drops every export."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Measure:
    rps: float
    cpu_us_per_request: float
    bad: int


@contextlib.contextmanager
def api_server(env: dict[str, str], log_dir: Path) -> Iterator[Server]:
    """One API process on core 0 (taskset execs it: same pid); yields its URL and pid."""
    port = free_port()
    if "BENCH_OTEL_FASTAPI" in env:
        argv = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.telemetry:otel_instrumented_app",
                "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    else:
        argv = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_dir / f"stdout-{port}.log", "wb") as out:
        proc = subprocess.Popen(["taskset", "-c", "0", *argv], env={**os.environ, **env}, cwd=str(REPO),
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=60, proc=proc)
            yield Server(f"http://127.0.0.1:{port}", proc.pid)
        finally:
            terminate(proc)


def wrk(server: Server, path: str, script: Path | None = None) -> Measure:
    """One wrk run on core 1: requests/s, the server's CPU time per request, non-2xx responses."""
    [measure] = wrk_at_once([server], path, script)
    return measure


def wrk_at_once(servers: list[Server], path: str, script: Path | None = None) -> list[Measure]:
    """One wrk per server, all on core 1 and running at the same time (one server: a plain run)."""
    argv = ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s"]
    if script is not None:
        argv += ["-s", str(script)]
    cpu_before = [server.cpu_seconds() for server in servers]
    seeds = [["--", str(random.randrange(1, 2**31))] if script is not None else [] for _ in servers]
    procs = [subprocess.Popen([*argv, server.url + path, *seed], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for server, seed in zip(servers, seeds)]
    outs = [proc.communicate() for proc in procs]
    measures = []
    for server, proc, (out, err), before in zip(servers, procs, outs, cpu_before):
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, [*argv, server.url + path], out, err)
        cpu = server.cpu_seconds() - before
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        measures.append(Measure(rps, cpu / max(total, 1) * 1e6, int(bad.group(1)) if bad else 0))
    return measures


async def seed(base_url: str, database_url: str) -> int:
    """A host with a few vehicles through the API; returns one vehicle id."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        factory = Factory(client, database_url)
        host = await factory.host()
        vehicles = [await factory.vehicle(host, daily_rate_cents=5000 + 100 * i) for i in range(12)]
        await factory.close()
        return int(vehicles[0]["id"])


def pool_max_size(database_url: str, servers: int) -> int:
    """Connections each server's pool may open: the API's default of 10, unless the servers together would
    pass Postgres' ``max_connections`` (less 20 for everything else). Every pool grows to its maximum
    during the search runs and keeps it; with every mode and two processes each, 16 pools of 10 would
    pass the 100 of a default Postgres, and the servers whose pools could not grow would be measured
    with fewer connections than the others."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
    limit = int(row[0]) if row else 100
    if 2 * servers > limit - 20:
        print(f"  warning: {servers} servers with 2 connections each pass Postgres' max_connections of {limit} "
              "less 20; name fewer modes (BENCH_MODES) or processes (BENCH_PROCESSES)", flush=True)
    return max(2, min(10, (limit - 20) // servers))


def baseline_role(mode: str) -> str:
    """The telemetry-off servers ``mode`` is compared with: in turn, the one "off" for every mode; paired,
    an "off" twin of its own (see BENCH_PAIRED in the module doc)."""
    return f"off, twin of {mode}" if PAIRED else "off"


def server_roles() -> dict[str, dict[str, str]]:
    """Every kind of server the run starts (PROCESSES of each), with its environment."""
    if not PAIRED:
        return dict(MODES)
    roles = {}
    for mode, env in MODES.items():
        if mode != "off":
            roles[baseline_role(mode)] = MODES["off"]
            roles[mode] = env
    return roles


def cell_schedule(mode: str) -> list[tuple[str, ...]]:
    """The wrk runs of one cell (round, endpoint, mode) in order, each the server roles loaded at once.
    Read one after another, the roles are always off, mode, mode, off: a drift of the machine's speed
    during the cell (seen here: +-30 % within half a minute) weighs on both sides alike.

    In turn, four runs of one server. Paired, off and mode under load at the same time, twice: the kernel
    shares core 0 between them, a drift hits both in the same second, and each wrk is started first once
    (the first started might get a head start)."""
    off = baseline_role(mode)
    if PAIRED:
        return [(off, mode), (mode, off)]
    return [(off,), (mode,), (mode,), (off,)]


def cell_totals(mode: str, runs: list[Measure]) -> tuple[float, float, float, float]:
    """(off rps, mode rps, off CPU µs a request, mode CPU µs a request), each summed over the cell's two
    runs of that server; ``runs`` in the order ``cell_schedule(mode)`` gives them."""
    roles = [role for group in cell_schedule(mode) for role in group]
    off = [run for role, run in zip(roles, runs, strict=True) if role != mode]
    on = [run for role, run in zip(roles, runs, strict=True) if role == mode]
    return (sum(m.rps for m in off), sum(m.rps for m in on),
            sum(m.cpu_us_per_request for m in off), sum(m.cpu_us_per_request for m in on))


def cell_ratios(mode: str, runs: list[Measure]) -> tuple[float, float]:
    """(throughput ratio mode/off, CPU-per-request ratio off/mode) of one cell."""
    off_rps, mode_rps, off_cpu, mode_cpu = cell_totals(mode, runs)
    return mode_rps / off_rps, off_cpu / mode_cpu


Results = dict[tuple[str, str], list[tuple[float, float]]]  # (mode, endpoint) -> [(rps ratio, cpu ratio)]


def run(database_url: str, redis: str, work: Path) -> Results:
    server_count = len(server_roles()) * PROCESSES
    pool_max = pool_max_size(database_url, server_count)
    print(f"{server_count} servers, database pool of up to {pool_max} connections each", flush=True)
    base_env = shared_env(database_url, redis, work, db_pool_min_size=min(4, pool_max), db_pool_max_size=pool_max)
    results: Results = {}
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(otlp_sink())
        # (The data was made through "off" before it had a server of its own; moving it did not remove the
        # paired runs' lean: see BENCH_PAIRED in the module doc.)
        vehicle_id = seed_through_own_server(base_env, database_url, work)
        # PROCESSES servers per mode, taken in turn from one round to the next: one process can be a few
        # percent faster than an identical one for its whole life (memory layout), and this averages it.
        # Index by index, every other index in the reverse order (off twin 0, mode 0, ..., then mode 1,
        # off twin 1, ...): neither role of a pair is always the elder (see the module doc).
        servers: dict[str, list[Server]] = {}
        roles = list(server_roles().items())
        for index in range(PROCESSES):
            for role, extra in roles if index % 2 == 0 else roles[::-1]:
                slug = re.sub(r"\W+", "-", role)
                mode_dir = work / f"{slug}-{index}"
                mode_dir.mkdir()
                env = measured_env(base_env, extra, mode_dir, sink)
                servers.setdefault(role, []).append(stack.enter_context(api_server(env, mode_dir)))
        targets = endpoint_targets(vehicle_id, work)
        endpoints = {name: targets[name] for name in selected_endpoints()}
        for processes in servers.values():  # warm-up: imports, pool connections, the detail cache
            for server in processes:
                for path, lua in endpoints.values():
                    wrk(server, path, lua)
        modes = list(MODES)[1:]
        pin_backends = PIN_HELPERS
        for round_no in range(ROUNDS):
            if pin_backends:  # every round: the pools open connections as the load needs them
                pin_backends = pin_database_backends(database_url)
            order = modes[round_no % len(modes):] + modes[:round_no % len(modes)]
            current = {mode: processes[round_no % PROCESSES] for mode, processes in servers.items()}
            for name, (path, lua) in endpoints.items():
                cells = []
                for mode in order:
                    schedule = cell_schedule(mode)
                    runs = [measure for group in schedule
                            for measure in wrk_at_once([current[role] for role in group], path, lua)]
                    for role, measure in zip((role for group in schedule for role in group), runs):
                        if measure.bad:
                            print(f"  warning: {role} {name}: {measure.bad} non-2xx responses", flush=True)
                    results.setdefault((mode, name), []).append(cell_ratios(mode, runs))
                    off_rps, mode_rps, off_cpu, mode_cpu = cell_totals(mode, runs)
                    cells.append(f"{mode}={mode_rps / 2:.0f}/s {mode_cpu / 2:.0f}us (off {off_rps / 2:.0f}/s "
                                 f"{off_cpu / 2:.0f}us)")
                print(f"round {round_no + 1} {name}: " + ", ".join(cells), flush=True)
        return results


def endpoint_targets(vehicle_id: int, work: Path) -> dict[str, tuple[str, Path | None]]:
    """Each endpoint's path and wrk script: ``/livez``, the seeded vehicle's detail, and the search whose
    ``price_max`` the script (written to ``work``) randomises."""
    search_script = work / "search.lua"
    search_script.write_text(SEARCH_LUA)
    return {"trivial": ("/livez", None), "vehicle detail (hit)": (f"/v1/vehicles/{vehicle_id}", None),
            "search (miss)": ("/v1/vehicles", search_script)}


def shared_env(database_url: str, redis: str, work: Path, **settings: Any) -> dict[str, str]:
    """The environment every server of a telemetry bench shares: the test settings (``settings`` over
    them) with the rate limits out of the way, only ``/metrics`` excluded from the telemetry (so that
    ``/livez`` is instrumented), info logs."""
    loaded = load_settings(environment="test", database_url=database_url, redis_url=redis, log_dir=work,
                           rate_limit_anonymous=1_000_000_000, rate_limit_authenticated=1_000_000_000, **settings)
    return {**settings_env(loaded), "ISLAND_TELEMETRY_EXCLUDED_PATHS": "/metrics", "LOG_LEVEL": "info"}


def measured_env(base_env: dict[str, str], mode_env: dict[str, str], log_dir: Path, sink: str) -> dict[str, str]:
    """A measured server's environment: its mode over the shared one, its own log directory, its spans to
    the bench's OTLP sink."""
    return {**base_env, **mode_env, "LOG_DIR": str(log_dir), "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
            "OTEL_SEMCONV_STABILITY_OPT_IN": "http"}


def seed_through_own_server(base_env: dict[str, str], database_url: str, work: Path) -> int:
    """Make the bench data (``seed``) through a telemetry-off server of its own, stopped before the
    measured ones start, so that no measured server did more (registration, argon2) than another; returns
    the vehicle id."""
    seed_dir = work / "seed"
    seed_dir.mkdir()
    with api_server({**base_env, **MODES["off"], "LOG_DIR": str(seed_dir)}, seed_dir) as seeder:
        return asyncio.run(seed(seeder.url, database_url))


def pin_database_backends(database_url: str) -> bool:
    """Move the Postgres backends serving the bench database to core 1, beside wrk: left to the
    scheduler, a backend may run on core 0 and take its time from the API server measured there. Only
    processes named ``postgres`` are moved (a server in a container or on another host reports pids of
    another namespace). Returns False, after one warning, when this process may not move them (not
    their owner): the caller stops trying."""
    with psycopg.connect(database_url) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                continue
            os.sched_setaffinity(pid, {1})
        except (FileNotFoundError, ProcessLookupError):
            continue  # a backend that ended meanwhile
        except PermissionError:
            print("  warning: the database backends stay unpinned (not their owner); BENCH_PIN_HELPERS=0 "
                  "silences this", flush=True)
            return False
    return True


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """A distribution-free confidence interval of the median of ``values`` (the rounds): the k-th smallest
    and the k-th largest, k as large as keeps the probability that the interval holds the true median at
    ``confidence`` or more (binomial, p = 1/2). Returns (low, high, that probability). With 10 rounds it is
    the 2nd smallest to the 2nd largest (97.9 %); under 6 rounds no k reaches 95 % and it is the whole
    range (5 rounds: 93.8 %, 3 rounds: 75 %)."""
    ordered = sorted(values)
    n = len(ordered)

    def coverage(k: int) -> float:
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n

    k = 1
    while k < (n + 1) // 2 and coverage(k + 1) >= confidence:
        k += 1
    return ordered[k - 1], ordered[n - k], coverage(k)


def verdict(value: float, low: float, target: float | None) -> str:
    """" ok" when even the interval's low end meets the target, " ok?" when only the median does (both as
    printed, to two decimals: a median of 0.896 is printed 0.90 and counts as 0.90)."""
    if target is None:
        return ""
    value, low = round(value, 2), round(low, 2)
    if value < target:
        return f" <{target}"
    return " ok" if low >= target else " ok?"


def report(results: Results) -> None:
    endpoints = list(dict.fromkeys(name for _, name in results))
    medians: dict[tuple[str, str], list[float]] = {}
    confidence = median_interval([0.0] * ROUNDS)[2]  # it depends on the number of rounds only
    for index, title in ((0, "throughput ratio mode/off (wrk requests/s)"),
                         (1, "CPU ratio off/mode (server CPU time per request; robust to other load)")):
        print(f"\n{title}, median of {ROUNDS} interleaved rounds [interval holding the true median with "
              f"{confidence:.1%} confidence], wrk -c{CONNECTIONS} -d{SECONDS}s, server on 1 core"
              + (", off and mode loaded at once (BENCH_PAIRED)" if PAIRED else ""))
        print(f"{'mode':28}" + "".join(f"{e:>28}" for e in endpoints))
        for mode in list(MODES)[1:]:
            cells = []
            for endpoint in endpoints:
                values = [r[index] for r in results[(mode, endpoint)]]
                value = statistics.median(values)
                medians.setdefault((mode, endpoint), []).append(value)
                low, high, _ = median_interval(values)
                target = TARGETS.get((mode, endpoint)) or TARGETS.get((mode, "*"))
                cells.append(f"{value:.2f} [{low:.2f}-{high:.2f}]{verdict(value, low, target)}")
            print(f"{mode:28}" + "".join(f"{c:>28}" for c in cells))
    print("\nok: the interval's low end meets the target; ok?: the median does, the interval reaches below it")
    # Both ratios measure the server's cost per request. When they part, something else limited the
    # throughput: core 1 (wrk, the sink, redis-server, the database backends) or the database.
    for (mode, endpoint), (rps, cpu) in medians.items():
        if abs(rps - cpu) > 0.03:
            print(f"warning: {mode}, {endpoint}: throughput ratio {rps:.2f} against CPU ratio {cpu:.2f}; the "
                  "server's CPU was not the only limit", flush=True)


def main() -> None:
    # SIGTERM runs the clean-up (servers, redis-server, temp database) like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    select_modes()
    selected_endpoints()  # an unknown name stops here, before any server starts
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"benchmarks.telemetry: {tool} is not installed (make system-deps)")
    if not {0, 1} <= os.sched_getaffinity(0):
        sys.exit("benchmarks.telemetry: needs cores 0 and 1 (the server on one, wrk on the other); this process "
                 f"may run on {sorted(os.sched_getaffinity(0))}")
    if PIN_HELPERS:
        # This process (its OTLP sink threads) and what it starts unpinned (redis-server) on core 1 with
        # wrk, so that core 0 runs the API server under load and nothing else of ours.
        os.sched_setaffinity(0, {1})
    work = Path(tempfile.mkdtemp(prefix="island-bench-telemetry-"))
    try:
        with temp_database(prefix="island_bench") as dsn, redis_server() as srv:
            apply_migrations(dsn)
            report(run(dsn, redis_url(srv), work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
