"""What each part of the telemetry costs, measured inside one API server: variants of the telemetry taken
in turn every few hundred requests in the same process, under one steady wrk load.

    make bench BENCH=telemetry_ab         # or: .venv/bin/python -m benchmarks.telemetry_ab  (≈ 3 min)
    BENCH_AB_VARIANTS="as configured;no access line;..."   (";" between names; default all; the first is
                                                           the baseline every other is divided by)
    BENCH_SECONDS=120 BENCH_AB_WINDOW=500 BENCH_PROCESSES=2 BENCH_CONNECTIONS=16   (defaults)
    BENCH_ENDPOINT="vehicle detail (hit)"                  (or "trivial", "search (miss)")
    BENCH_MODE="full (10%)"                                (the server's telemetry, a benchmarks.telemetry mode)

``BENCH_PROCESSES`` servers with the telemetry of ``BENCH_MODE`` run on core 0, each loaded by its own wrk
on core 1 for ``BENCH_SECONDS``, all at once. Inside each server ``benchmarks/ab_hooks/sitecustomize.py``
switches to the next variant every ``BENCH_AB_WINDOW`` requests (see there for what each changes) and
records the process's CPU time per window (``time.process_time``: every thread, the span exporter's too).
A cycle is one window of each variant; the first two cycles are dropped (warm-up). For each variant the
report gives the median over cycles of its CPU per request divided by the baseline's in the same cycle,
with a distribution-free interval, and what that leaves of the baseline's throughput.

Why this and not only ``benchmarks.telemetry``: two processes differ by a few percent for their whole life
and the machine's speed drifts within a minute, so the wrk runs of that benchmark resolve about ±3 % in
10 rounds; here the variants share one process and one minute, and an A/A pair reads within ±0.7 %. What
it cannot show: the cost of the telemetry against none at all (the process always has it configured) and
anything outside the process (uvicorn is in both, the kernel's work for the log writes is counted as the
process's system time). It is the tool for "which part costs how much"; the issue's targets are read on
``benchmarks.telemetry``.

Needs what ``benchmarks.telemetry`` needs: Postgres and Redis as for the tests, ``wrk`` and ``taskset``,
2 cores.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api.migrate import apply_migrations
from benchmarks import telemetry as bench
from benchmarks.ab_hooks.sitecustomize import VARIANTS, server_env
from benchmarks.settings import names, positive_int
from tests.support.services import redis_server, redis_url, temp_database

SECONDS = positive_int("BENCH_SECONDS", 120)
WINDOW = positive_int("BENCH_AB_WINDOW", 500)
PROCESSES = positive_int("BENCH_PROCESSES", 2)
DROPPED_CYCLES = 2


def chosen_variants() -> list[str]:
    return names("BENCH_AB_VARIANTS", list(VARIANTS), separator=";")


def chosen_endpoint() -> str:
    raw = os.environ.get("BENCH_ENDPOINT", "").strip()
    if not raw:
        return "vehicle detail (hit)"
    if raw not in bench.ENDPOINTS:
        sys.exit(f"BENCH_ENDPOINT: unknown endpoint {raw!r}; known: {list(bench.ENDPOINTS)}")
    return raw


def chosen_mode() -> dict[str, str]:
    mode = os.environ.get("BENCH_MODE", "full (10%)").strip()
    if mode not in bench.MODES or bench.MODES[mode].get("ISLAND_TELEMETRY") == "off":
        known = [m for m, env in bench.MODES.items() if env.get("ISLAND_TELEMETRY") != "off"]
        sys.exit(f"BENCH_MODE: {mode!r} is not a mode with telemetry; known: {known}")
    return bench.MODES[mode]


def cycles(windows: list[list[object]], variants: list[str]) -> list[dict[str, float]]:
    """Per complete cycle (one window of every variant, in order), each variant's CPU µs a request."""
    out: list[dict[str, float]] = []
    current: dict[str, float] = {}
    for variant, cpu_s, requests in windows:
        current[str(variant)] = float(cpu_s) / int(requests) * 1e6  # type: ignore[arg-type]
        if len(current) == len(variants):
            out.append(current)
            current = {}
    return out[DROPPED_CYCLES:]


def report(per_cycle: list[dict[str, float]], variants: list[str]) -> None:
    base = variants[0]
    confidence = bench.median_interval([0.0] * len(per_cycle))[2]
    print(f"\nCPU per request of each variant against {base!r} in the same cycle: median of {len(per_cycle)} "
          f"cycles [interval holding the true median with {confidence:.1%} confidence]; throughput kept "
          "= the inverse")
    print(f"{'variant':36}{'µs/request':>12}{'CPU ratio':>24}{'throughput kept':>18}   what it changes")
    for variant in variants:
        ratios = [cycle[variant] / cycle[base] for cycle in per_cycle]
        median = statistics.median(ratios)
        low, high, _ = bench.median_interval(ratios)
        micros = statistics.median(cycle[variant] for cycle in per_cycle)
        print(f"{variant:36}{micros:12.1f}{f'{median:.3f} [{low:.3f}-{high:.3f}]':>24}{1 / median:18.3f}   "
              f"{VARIANTS[variant]}")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    variants, endpoint, mode_env = chosen_variants(), chosen_endpoint(), chosen_mode()
    if len(variants) < 2:
        sys.exit("BENCH_AB_VARIANTS: name at least two variants (the first is the baseline)")
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"benchmarks.telemetry_ab: {tool} is not installed (make system-deps)")
    os.sched_setaffinity(0, {1})  # this process, the OTLP sink and redis-server beside wrk
    bench.SECONDS = SECONDS
    bench.CONNECTIONS = positive_int("BENCH_CONNECTIONS", 16)
    work = Path(tempfile.mkdtemp(prefix="island-bench-ab-"))
    try:
        with temp_database(prefix="island_bench") as dsn, redis_server() as srv, contextlib.ExitStack() as stack:
            apply_migrations(dsn)
            base_env = bench.shared_env(dsn, redis_url(srv), work)
            sink = stack.enter_context(bench.otlp_sink())
            vehicle_id = bench.seed_through_own_server(base_env, dsn, work)
            path, lua = bench.endpoint_targets(vehicle_id, work)[endpoint]
            servers = []
            for index in range(PROCESSES):
                log_dir = work / f"server-{index}"
                log_dir.mkdir()
                env = {**bench.measured_env(base_env, mode_env, log_dir, sink),
                       **server_env(variants, WINDOW, str(log_dir / "windows.json"))}
                servers.append((stack.enter_context(bench.api_server(env, log_dir)), log_dir))
            print(f"{PROCESSES} servers ({endpoint}), {len(variants)} variants in turn every {WINDOW} requests, "
                  f"{SECONDS} s of wrk -c{bench.CONNECTIONS}", flush=True)
            bench.wrk_at_once([server for server, _ in servers], path, lua)  # the whole run, all at once
            per_cycle = []
            for server, log_dir in servers:
                os.kill(server.pid, signal.SIGUSR2)
                for _ in range(50):
                    time.sleep(0.1)
                    if (log_dir / "windows.json").exists():
                        break
                per_cycle += cycles(json.loads((log_dir / "windows.json").read_text()), variants)
            if len(per_cycle) < 6:
                sys.exit(f"only {len(per_cycle)} complete cycles: raise BENCH_SECONDS or lower BENCH_AB_WINDOW")
            report(per_cycle, variants)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
