"""What the health agent costs: /health throughput, queries reaching Postgres, and resources at 50 checks.

Run: ``make bench BENCH=agent_health`` (``BENCH_ROUNDS``, ``BENCH_SECONDS``, ``BENCH_IDLE_SECONDS`` to change
the rounds of wrk per endpoint, their length, and the length of the resource measurement).

1. Throughput: wrk (32 connections, 127.0.0.1) on ``/health`` against ``/constant``, a constant endpoint
   added to the same app in the same process (the first /health body, frozen, same headers: only the
   per-request work differs), in interleaved rounds; the ratio is the median of the per-round ratios
   (target >= 0.95). ``/ok`` (2-byte text) is measured too, to show what the body size itself costs, and
   the agent's CPU time per request (from /proc), which other load on a shared machine moves far less.
2. Postgres: the agent's postgres check targets a database of its own; ``pg_stat_database.xact_commit``
   counts what reached it while wrk hammered ``/health``, against what the scheduled check runs explain
   (transactions per run, calibrated in an idle phase of the same length in the same run).
3. Resources: an agent with 50 checks every 10 s and one with a single check run side by side; RSS and CPU
   (% of one core) from /proc over ``BENCH_IDLE_SECONDS`` (targets: < 80 MB, < 2 %).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from benchmarks.settings import positive_int
from tests.support.services import SHARED_POSTGRES_DSN, free_port, temp_database, terminate, wait_for_port

ROUNDS = positive_int("BENCH_ROUNDS", 10)
SECONDS = positive_int("BENCH_SECONDS", 3)
IDLE_SECONDS = positive_int("BENCH_IDLE_SECONDS", 60)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the agent under test, with a constant endpoint beside /health ------------------------------------------

def app_with_baselines(agent: Any) -> Any:
    """The agent's app plus two baselines: ``/constant`` answers the first /health body it sees, frozen,
    with the same media type and headers (so only the per-request work differs), and ``/ok`` a 2-byte text."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from agent.health import HEALTH_MEDIA_TYPE
    from agent.server import NO_STORE, build_app

    app = build_app(agent)
    health_endpoint = next(r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/health")
    frozen: list[bytes] = []

    async def constant(request: Request) -> Response:
        if not frozen:
            response = await health_endpoint(request)  # /health, once
            frozen.append(bytes(response.body))
        return Response(frozen[0], media_type=HEALTH_MEDIA_TYPE, headers=NO_STORE)

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app.add_route("/constant", constant, methods=["GET"])
    app.add_route("/ok", ok, methods=["GET"])
    return app


def serve(config: str, port: int) -> None:
    """Child process: the agent of ``config`` on ``port``, plus its baselines."""
    import prometheus_client
    import uvicorn

    from agent.config import load_config
    from agent.serve import running_agent

    prometheus_client.disable_created_metrics()

    async def main() -> None:
        async with running_agent(load_config(config)) as agent:
            app = app_with_baselines(agent)
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                                   access_log=False, log_config=None, log_level="warning"))
            await server.serve()

    asyncio.run(main())


def start_agent(config: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.agent_health", "--serve", str(config), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, timeout=60, proc=proc)
    return proc


async def handler_ratio(config: Path, calls: int = 20_000, blocks: int = 10) -> tuple[float, float, float]:
    """Per-request time of /health and /constant called as ASGI apps in-process (no network, no wrk):
    the same comparison without the scheduling noise of a shared machine. Returns (health_us, constant_us, ratio
    of throughputs)."""
    from agent.config import load_config
    from agent.serve import running_agent

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    def scope(path: str) -> dict[str, Any]:
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [],
                "server": ("127.0.0.1", 9300), "client": ("127.0.0.1", 50000)}

    async with running_agent(load_config(config)) as agent:
        app = app_with_baselines(agent)
        await asyncio.sleep(1.5)  # first results in
        totals = {"/health": 0.0, "/constant": 0.0}
        for block in range(blocks):
            for path in (["/health", "/constant"] if block % 2 == 0 else ["/constant", "/health"]):
                s = scope(path)
                t0 = time.perf_counter()
                for _ in range(calls // blocks):
                    await app(s, receive, send)
                totals[path] += time.perf_counter() - t0
    health_us, constant_us = (totals[p] / calls * 1e6 for p in ("/health", "/constant"))
    return health_us, constant_us, constant_us / health_us


# --- measurements ---------------------------------------------------------------------------------------

def wrk(url: str, seconds: int) -> float:
    """Requests per second wrk reaches on ``url`` with 32 connections."""
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error responses during the run")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise RuntimeError(f"{url}: no throughput in wrk's output:\n{out}")
    return float(rps.group(1))


def xact_commit(dbname: str) -> int:
    with psycopg.connect(SHARED_POSTGRES_DSN, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           (dbname,)).fetchone()
    if row is None:
        raise RuntimeError(f"database {dbname} is not in pg_stat_database")
    return int(row[0])


def check_runs(port: int, check: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(float(m.group(1)) for m in re.finditer(
        rf'^agent_check_runs_total{{check="{re.escape(check)}",[^}}]*}} ([\d.e+]+)$', text, re.MULTILINE))


def proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds used so far, RSS bytes) of ``pid``, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    rss = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    rss_kb = int(rss.group(1)) if rss else 0
    return cpu, rss_kb * 1024


# --- the three parts ------------------------------------------------------------------------------------

def throughput_and_queries(work: Path, dsn: str, dbname: str) -> dict[str, Any]:
    port = free_port()
    config = work / "throughput.yaml"
    config.write_text(f"""
checks:
  postgres: {{type: postgres, target: "{dsn}", interval: 1, timeout: 0.5, critical: true}}
  redis: {{type: redis, target: "redis://127.0.0.1:6379/0", interval: 1, timeout: 0.5}}
  disk: {{type: disk, target: "{work}", interval: 1, timeout: 0.5}}
""")
    proc = start_agent(config, port)
    try:
        time.sleep(3)  # first runs done, stats flushed
        x0, r0 = xact_commit(dbname), check_runs(port, "postgres")
        time.sleep(ROUNDS * SECONDS * 2)  # idle phase: what the schedule alone sends to Postgres
        x1, r1 = xact_commit(dbname), check_runs(port, "postgres")
        rps: dict[str, list[float]] = {"health": [], "constant": [], "ok": []}
        cpu_us: dict[str, list[float]] = {name: [] for name in rps}
        names = list(rps)
        for i in range(ROUNDS):
            for name in names[i % 3:] + names[:i % 3]:  # rotate the order: no endpoint always goes first
                cpu_before = proc_usage(proc.pid)[0]
                rate = wrk(f"http://127.0.0.1:{port}/{name}", SECONDS)
                rps[name].append(rate)
                # the server's own CPU per request: what throughput costs, unmoved by other load on the machine
                cpu_us[name].append((proc_usage(proc.pid)[0] - cpu_before) / (rate * SECONDS) * 1e6)
        time.sleep(1.5)  # Postgres publishes its counters at most once a second
        x2, r2 = xact_commit(dbname), check_runs(port, "postgres")
    finally:
        terminate(proc)
    per_run_idle = (x1 - x0) / max(r1 - r0, 1)
    health, constant, ok = rps["health"], rps["constant"], rps["ok"]
    return {
        "health_rps": statistics.median(health), "constant_rps": statistics.median(constant),
        "ok_rps": statistics.median(ok),
        "ratio": statistics.median(h / c for h, c in zip(health, constant)),
        "ratio_ok": statistics.median(h / o for h, o in zip(health, ok)),
        "pairs": [(round(h), round(c)) for h, c in zip(health, constant)],
        "cpu_us": {name: statistics.median(values) for name, values in cpu_us.items()},
        "cpu_ratio": statistics.median(c / h for h, c in zip(cpu_us["health"], cpu_us["constant"])),
        "requests": sum(health) * SECONDS, "xacts_load": x2 - x1, "runs_load": r2 - r1,
        "xacts_per_run_idle": per_run_idle, "xacts_per_run_load": (x2 - x1) / max(r2 - r1, 1),
    }


def fifty_checks_config(work: Path, dsn: str, count: int) -> Path:
    kinds = [
        ("postgres", dsn), ("redis", "redis://127.0.0.1:6379/0"), ("tcp", "127.0.0.1:6379"), ("disk", str(work)),
        ("http", "http://127.0.0.1:{port}/livez"),
    ]
    lines = ["checks:"]
    for i in range(count):
        kind, target = kinds[i % len(kinds)]
        lines.append(f'  {kind}-{i}: {{type: {kind}, target: "{target}", interval: 10, timeout: 2}}')
    path = work / f"checks-{count}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def resources(work: Path, dsn: str) -> dict[int, dict[str, float]]:
    procs: dict[int, subprocess.Popen[bytes]] = {}
    for count in (50, 1):
        port = free_port()
        config = fifty_checks_config(work, dsn, count)
        config.write_text(config.read_text().replace("{port}", str(port)))
        procs[count] = start_agent(config, port)
    try:
        time.sleep(5)  # imports and first runs are start-up, not the steady state being measured
        start = {n: proc_usage(p.pid) for n, p in procs.items()}
        peak = {n: s[1] for n, s in start.items()}
        t0 = time.monotonic()
        while time.monotonic() - t0 < IDLE_SECONDS:
            time.sleep(1)
            for n, p in procs.items():
                peak[n] = max(peak[n], proc_usage(p.pid)[1])
        elapsed = time.monotonic() - t0
        end = {n: proc_usage(p.pid) for n, p in procs.items()}
    finally:
        for p in procs.values():
            terminate(p)
    return {n: {"cpu_pct": 100 * (end[n][0] - start[n][0]) / elapsed, "rss_mb": peak[n] / 2**20} for n in procs}


def main() -> None:
    import logging

    import structlog

    # the in-process agent's transition lines would interleave with the figures
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: run `make system-deps`")
    work = Path(tempfile.mkdtemp(prefix="agent-bench-"))
    try:
        with temp_database(prefix="agent_bench") as dsn:
            dbname = dsn.rsplit("/", 1)[1]
            t = throughput_and_queries(work, dsn, dbname)
            print(f"/health {t['health_rps']:.0f} req/s vs /constant (same body, frozen) {t['constant_rps']:.0f} "
                  f"req/s: ratio {t['ratio']:.3f} (median of {ROUNDS} interleaved rounds of {SECONDS} s, wrk -c32; "
                  f"pairs {t['pairs']})")
            print(f"  vs /ok (2-byte text) {t['ok_rps']:.0f} req/s: ratio {t['ratio_ok']:.3f}")
            cpu = t["cpu_us"]
            print(f"agent CPU per request (median): /health {cpu['health']:.1f} us, /constant {cpu['constant']:.1f} us, "
                  f"/ok {cpu['ok']:.1f} us: throughput ratio at equal CPU {t['cpu_ratio']:.3f}")
            print(f"Postgres during the load: {t['xacts_load']} transactions for {t['runs_load']:.0f} scheduled "
                  f"check runs = {t['xacts_per_run_load']:.2f}/run (idle phase: {t['xacts_per_run_idle']:.2f}/run) "
                  f"while serving ~{t['requests']:.0f} /health requests")
            h_us, c_us, ratio = asyncio.run(handler_ratio(work / "throughput.yaml"))
            print(f"in-process ASGI calls: /health {h_us:.1f} us vs /constant {c_us:.1f} us per request: "
                  f"throughput ratio {ratio:.3f}")
            r = resources(work, dsn)
            print(f"50 checks every 10 s over {IDLE_SECONDS} s: RSS {r[50]['rss_mb']:.1f} MB, CPU {r[50]['cpu_pct']:.2f}% "
                  f"of one core; 1 check: RSS {r[1]['rss_mb']:.1f} MB, CPU {r[1]['cpu_pct']:.2f}% "
                  f"(ratio RSS {r[50]['rss_mb'] / r[1]['rss_mb']:.2f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", nargs=2, metavar=("CONFIG", "PORT"))
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
    else:
        main()
