"""Instructions per request that each telemetry part adds, counted by callgrind around a bare ASGI app.

    make bench BENCH=middleware_instructions      # about a minute; BENCH_RATIO=0.1 BENCH_REQUESTS=500

The fast companion of ``benchmarks.telemetry_cpu`` (the real app, 15+ minutes under callgrind) for working
on ``exporters``: the same process builds ``TelemetryMiddleware`` once per configuration (no telemetry,
the middleware with every part off, metrics, access log, traces, all three) around an app that only
answers 200, and drives each with the same requests: a browser's seven headers, a fresh request id on
``request.state`` as the API's edge middleware leaves one, one event-loop turn every three requests (the
log sink's flush). Each window is counted by callgrind (``callgrind_control --zero`` / ``--dump``) with
the random module seeded alike, and pending spans are exported inside it (force_flush), so the count is
the same on every run whatever else the machine does. The report is instructions per request and the
difference to the bare app. Exports go to an OTLP sink in a child process (not counted), in batches of
at most BENCH_REQUESTS * ratio spans: smaller batches than a server's 512, so the sampled share is
somewhat overstated.

Measured this way on 26 Nov 2026 (10 % sampling): full telemetry added 143k instructions a request at
the start of the day's work and 94k after it (README, telemetry cost section).
"""
from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import callgrind_window, settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HEADERS = [(b"host", b"127.0.0.1:8000"),
           (b"user-agent", (b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                            b"Chrome/120.0 Safari/537.36")),
           (b"accept", b"application/json"), (b"accept-encoding", b"gzip, deflate, br"),
           (b"accept-language", b"en-US,en;q=0.9"), (b"connection", b"keep-alive"), (b"cookie", b"a=b")]


class _Route:
    path_format = "/v1/vehicles/{vehicle_id}"


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers 200 with a small JSON body, leaving the matched route in the scope as Starlette does."""
    scope["route"] = _Route
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict[str, Any]) -> None:
    pass


async def drive(app: Any, count: int) -> None:
    """``count`` requests to the vehicle detail route, one event-loop turn every three (the log sink's flush)."""
    for i in range(count):
        scope = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": "/v1/vehicles/7", "raw_path": b"/v1/vehicles/7", "root_path": "", "query_string": b"",
                 "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "headers": list(HEADERS),
                 "state": {"request_id": f"{random.getrandbits(128):032x}", "user_id": None}}
        await app(scope, _receive, _send)
        if i % 3 == 0:
            await asyncio.sleep(0)


def telemetry_apps(app: Any, sink: str, ratio: float, log_dir: str) -> tuple[dict[str, Any], Any]:
    """``app`` bare and inside ``TelemetryMiddleware`` with each part alone and all three, after setting up
    the access log (to ``log_dir``/api.log and /dev/null as stdout) and tracing at ``ratio`` exporting to
    ``sink``. Returns the apps by name and the tracer provider (to flush pending spans)."""
    from exporters import tracing
    from exporters.asgi import TelemetryMiddleware
    from exporters.config import TelemetryConfig
    from exporters.logs import configure_logging

    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # the access lines' stdout copy
    os.close(null)
    configure_logging("island-api", "1.0.0", log_dir, "info", ecs=True, log_file="api.log")
    provider = tracing.configure_tracing("island-api", "1.0.0", ratio, otlp_endpoint=sink)
    off = dataclasses.replace(TelemetryConfig.off(), excluded_paths=frozenset({"/metrics"}))
    apps = {"no middleware": app,
            "middleware, all parts off": TelemetryMiddleware(app, off),
            "metrics": TelemetryMiddleware(app, dataclasses.replace(off, metrics=True)),
            "access log": TelemetryMiddleware(app, dataclasses.replace(off, logs=True)),
            f"traces at {ratio:g}": TelemetryMiddleware(app, dataclasses.replace(off, traces=True)),
            "full": TelemetryMiddleware(app, dataclasses.replace(off, metrics=True, logs=True, traces=True))}
    return apps, provider


async def _measure(sink: str, dump: str, ratio: float, requests: int, log_dir: str) -> dict[str, float]:
    apps, provider = telemetry_apps(bare_app, sink, ratio, log_dir)
    counts = {}
    for name, app in apps.items():
        random.seed(5)
        await drive(app, 200)  # warm-up: caches, memos, specialised bytecode
        provider.force_flush()
        random.seed(7)
        callgrind_window.zero()
        await drive(app, requests)
        provider.force_flush()
        counts[name] = callgrind_window.instructions(Path(dump)) / requests
    return counts


def sink_process() -> tuple[subprocess.Popen[str], str]:
    """An OTLP sink in a child process (benchmarks.telemetry's), so that its work is not counted."""
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from benchmarks.telemetry import otlp_sink\n"
            "with otlp_sink() as url:\n    print(url, flush=True); time.sleep(3600)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(REPO)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def main() -> None:
    ratio, requests = settings.ratio("BENCH_RATIO", 0.1), settings.positive_int("BENCH_REQUESTS", 500)
    if len(sys.argv) == 4 and sys.argv[1] == "child":
        counts = asyncio.run(_measure(sys.argv[2], sys.argv[3], ratio, requests, str(Path(sys.argv[3]).parent)))
        base = counts["no middleware"]
        print(f"instructions per request (callgrind), {requests} requests, traces sampled at {ratio:g}",
              file=sys.stderr)
        for name, value in counts.items():
            print(f"  {name:28} {value:10,.0f}  (+{value - base:,.0f})", file=sys.stderr)
        return
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        sys.exit("benchmarks.middleware_instructions needs valgrind (Debian package valgrind)")
    sink, url = sink_process()
    work = Path(tempfile.mkdtemp(prefix="island-bench-mw-"))
    dump = str(work / "callgrind.out")
    try:
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}", "--dump-instr=no",
                               sys.executable, "-m", "benchmarks.middleware_instructions", "child", url, dump],
                              cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
        if done.returncode:
            sys.exit(f"the counted child failed:\n{done.stderr[-3000:]}")
        # The child's report, without valgrind's own lines ("==pid== ...").
        print("\n".join(line for line in done.stderr.splitlines() if not line.startswith("==")))
    finally:
        sink.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
