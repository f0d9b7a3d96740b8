"""What one run of each check type costs the agent in CPU, against a bare TCP connect to the same server.

    make bench BENCH=checks_cost          # or: .venv/bin/python -m benchmarks.checks_cost
    BENCH_ROUNDS=200                      (default; runs per check type)

The agent's budget is 2 % of one core for 50 checks every 10 s, i.e. 5 runs/s: on average a run may use
4 ms of CPU. Every target runs on 127.0.0.1 (Postgres: a database of our own on the shared server; Redis,
HTTP(S), SMTP, WebSocket, DNS and TLS servers started here), the servers in a separate thread with its own
event loop, so the CPU measured (``time.thread_time`` of the checks' thread) is the check's alone.
Baseline: ``asyncio.open_connection`` + close to the same port, measured interleaved with the check (one
baseline run before every check run). Reported per type: median wall time, mean CPU per run, the ratio
of that CPU to the baseline's, and the share of one core that 5 runs/s of that type would use.
Also: the RSS that ``import checks`` adds, measured in a fresh interpreter.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.settings import positive_int
from checks import REGISTRY
from checks.base import Deadline, Status
from tests.support.dns_server import tiny_dns_server
from tests.support.services import redis_server, smtp_catcher, temp_database
from tests.support.tls import make_pki

ROUNDS = positive_int("BENCH_ROUNDS", 200)
RUNS_PER_SECOND = 50 / 10  # 50 checks every 10 s


class ServerThread:
    """An event loop in a thread for the in-process servers (websocket echo, DNS, TLS, HTTP)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


_HEALTH = b'{"cluster_name":"bench","status":"green","number_of_nodes":1,"active_shards":0}'


async def _http_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal HTTP/1.1 server: "ok", or a green cluster health; keep-alive until the client closes."""
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            body = _HEALTH if b"/_cluster/health" in head.split(b"\r\n", 1)[0] else b"ok"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


_KEEP: list[Any] = []  # the DNS server's context manager: collected, it would close the server


async def _start_servers(tls_context: Any) -> dict[str, int]:
    from websockets.asyncio.server import serve

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    http = await asyncio.start_server(_http_handler, "127.0.0.1", 0)
    https = await asyncio.start_server(_http_handler, "127.0.0.1", 0, ssl=tls_context)
    ws = await serve(echo, "127.0.0.1", 0)
    dns_cm = tiny_dns_server()
    dns_port = await dns_cm.__aenter__()
    _KEEP.append(dns_cm)
    return {
        "http": http.sockets[0].getsockname()[1],
        "https": https.sockets[0].getsockname()[1],
        "ws": next(iter(ws.sockets)).getsockname()[1],
        "dns": dns_port,
    }


def _cases(
    ports: dict[str, int], dsn: str, redis_port: int, smtp_port: int, ca_file: Path, disk_path: str
) -> dict[str, tuple[str, dict[str, Any], int | None]]:
    """type -> (target, options, TCP port for the baseline connect; None: no TCP)."""
    pg_port = int(dsn.rsplit(":", 1)[1].split("/", 1)[0])
    return {
        "postgres": (dsn, {}, pg_port),
        "redis": (f"redis://127.0.0.1:{redis_port}/0", {}, redis_port),
        "http": (f"http://127.0.0.1:{ports['http']}/health", {}, ports["http"]),
        "https": (f"https://localhost:{ports['https']}/health", {"ca_file": ca_file}, ports["https"]),
        "tcp": (f"127.0.0.1:{ports['http']}", {}, ports["http"]),
        "tls": (f"localhost:{ports['https']}", {"ca_file": ca_file}, ports["https"]),
        "dns": ("app.island.test", {"nameserver": "127.0.0.1", "port": ports["dns"]}, None),
        "smtp": (f"smtp://127.0.0.1:{smtp_port}", {}, smtp_port),
        "websocket": (f"ws://127.0.0.1:{ports['ws']}/", {}, ports["ws"]),
        "elasticsearch": (f"http://127.0.0.1:{ports['http']}", {}, ports["http"]),
        "disk": (disk_path, {}, None),
    }


async def _baseline(port: int | None) -> None:
    if port is None:
        return
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.abort()


async def _timed(awaitable: Awaitable[Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.thread_time()
    result = await awaitable
    return time.perf_counter() - wall, time.thread_time() - cpu, result


async def measure(cases: dict[str, tuple[str, dict[str, Any], int | None]]) -> dict[str, dict[str, float]]:
    """Interleaved rounds: for every type, one baseline connect then one check run."""
    samples: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": [], "base": []} for name in cases}
    prepared = {
        name: (REGISTRY["http" if name == "https" else name], target, raw, port)
        for name, (target, raw, port) in cases.items()
    }
    for round_no in range(ROUNDS + 1):
        for name, (check, target, raw, port) in prepared.items():
            options = check.options_model.model_validate(raw)
            _, base_cpu, _ = await _timed(_baseline(port))
            wall, cpu, result = await _timed(check.run(target, options, Deadline(5)))
            if result.status is Status.FAIL:
                raise RuntimeError(f"{name} failed: {result.output}")
            if round_no:  # round 0 warms caches (SSL contexts, imports)
                samples[name]["wall"].append(wall)
                samples[name]["cpu"].append(cpu)
                samples[name]["base"].append(base_cpu)
    return {
        name: {
            "wall_ms": 1000 * statistics.median(s["wall"]),
            "cpu_ms": 1000 * statistics.fmean(s["cpu"]),
            "base_ms": 1000 * statistics.fmean(s["base"]),
        }
        for name, s in samples.items()
    }


def import_rss_mb() -> float:
    """RSS that ``import checks`` adds to an interpreter that already has pydantic and asyncio."""
    code = (
        "import re, pathlib, pydantic, asyncio, ssl\n"
        "rss = lambda: int(re.search(r'VmRSS:\\s+(\\d+)', pathlib.Path('/proc/self/status').read_text())[1])\n"
        "before = rss()\nimport checks\nprint((rss() - before) / 1024)"
    )
    return float(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    )


def main() -> None:
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="island-bench-")))
        pki = make_pki(work / "pki")
        dsn = stack.enter_context(temp_database(prefix="island_bench_checks"))
        redis = stack.enter_context(redis_server())
        smtp = stack.enter_context(smtp_catcher())
        servers = ServerThread()
        stack.callback(servers.stop)
        ports = servers.call(_start_servers(pki.server_context()))
        cases = _cases(ports, dsn, redis.port, smtp.port, pki.ca_file, str(work))
        results = asyncio.run(measure(cases))
    print(f"check cost per run, {ROUNDS} interleaved rounds (baseline: bare TCP connect to the same port)")
    print(f"{'type':<14}{'wall p50 ms':>12}{'CPU ms':>9}{'base CPU ms':>12}{'CPU ratio':>10}{'5 runs/s':>10}")
    for name, r in results.items():
        ratio = f"{r['cpu_ms'] / r['base_ms']:.1f}x" if r["base_ms"] > 0.001 else "-"
        share = r["cpu_ms"] / 1000 * RUNS_PER_SECOND * 100
        print(
            f"{name:<14}{r['wall_ms']:>12.2f}{r['cpu_ms']:>9.2f}{r['base_ms']:>12.3f}{ratio:>10}{share:>9.2f}%"
        )
    mean_cpu = statistics.fmean(r["cpu_ms"] for r in results.values())
    print(
        f"mean over types: {mean_cpu:.2f} ms CPU per run -> 50 checks every 10 s ~ "
        f"{mean_cpu / 1000 * RUNS_PER_SECOND * 100:.2f}% of one core (budget 2%)"
    )
    print(f"import checks: +{import_rss_mb():.1f} MB RSS")


if __name__ == "__main__":
    main()
