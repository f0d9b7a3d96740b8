"""Loaded by ``benchmarks.telemetry_ab`` into each API server it starts (``PYTHONPATH``): variants of the
telemetry, taken in turn every ``BENCH_AB_WINDOW`` requests inside the one process, each window's CPU time
recorded. Python imports ``sitecustomize`` at start-up; nothing here runs unless ``BENCH_AB_HOOK_VARIANTS``
is set, and the product's code carries no benchmark switch: the variants replace functions from outside.

Why in one process: two server processes differ by a few percent for their whole life (memory layout),
and the machine's speed drifts by more within a minute; the paired wrk runs of ``benchmarks.telemetry``
resolve about ±3 % in 10 rounds. Windows of about half a second, variants interleaved, the same process
and the same load: an A/A pair reads within ±0.7 % over two minutes.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

# name -> what it changes (the report prints these)
VARIANTS = {
    "as configured": "full telemetry as the environment configures it",
    "as configured again (A/A)": "the same, to show this run's noise",
    "no middleware": "TelemetryMiddleware only awaits the app (Redis and SQL instrumentation stay)",
    "no access line": "the access line is neither rendered nor written",
    "no tracing in the middleware": "no server span, ids or context: a fixed unsampled traceparent",
    "no HTTP histograms": "the three per-request observations skipped",
    "log lines written every loop turn": "ISLAND_LOG_FLUSH_MS=0 for the window",
    "log lines not written": "rendered and gathered, the write system calls skipped",
    "no access line, no tracing": "both of the above at once (their costs add up, or they share one)",
    "access line not handed to the sink": "rendered as usual, then dropped (what the sink costs)",
    "constant access line": "a fixed line of the usual size handed to the sink (what rendering costs)",
    "access line rendered at once": "rendered in the request, not when the sink writes (as before 27 Nov 2026)",
    "nothing sampled": "every root unsampled: the sampled 10 % (their spans and export) skipped",
    "middleware with no parts": "the middleware's own work only: metrics, traces and logs off in it",
    "middleware with metrics only": "traces and logs off in the middleware",
    "no Redis instrumentation": "the Redis client's own execute_command, unwrapped (no span, no histogram)",
    "no instruments": "exporters.instruments' measurement points off (cache, rate-limit, business counters)",
    "nothing per request": "no middleware, no Redis instrumentation, no instruments: what is left is the "
                           "process's configuration alone",
}
_NO_LINE = ("no access line", "no access line, no tracing")
_NO_TRACING = ("no tracing in the middleware", "no access line, no tracing")
_NO_MIDDLEWARE = ("no middleware", "nothing per request")
_NO_REDIS = ("no Redis instrumentation", "nothing per request")
_NO_INSTRUMENTS = ("no instruments", "nothing per request")
# (metrics, traces, logs) of the middleware in these windows; in the others, as configured
_PARTS = {"middleware with no parts": (False, False, False), "middleware with metrics only": (True, False, False)}


def install(chosen: list[str], window: int, out_path: str) -> None:
    from exporters import asgi, instruments, redis_instrumentation, tracing
    from exporters.logs import setup

    # "configured": the sink's flush interval once the app has configured logging (read at the first window)
    state: dict[str, Any] = {"n": 0, "i": 0, "t": time.process_time(), "v": chosen[0], "configured": None,
                             "applied": False}
    windows: list[tuple[str, float, int]] = []
    sink = setup.SINK
    fixed = (None, b"00-0123456789abcdef0123456789abcdef-0123456789abcdef-00", None)

    begin_request, access_line, observe_three = tracing.begin_request, asgi.access_line, asgi.observe_three
    tracing.begin_request = lambda method, carrier: (
        fixed if state["v"] in _NO_TRACING else begin_request(method, carrier))
    from exporters.logs import access

    class DroppingSink:
        @staticmethod
        def write(line: bytes) -> None:
            return None

    # about the size of a /livez or vehicle-detail access line
    constant = b'{"@timestamp":"2026-11-27T09:10:11.123Z","log.level":"info","message":"GET / 200"' + b" " * 560

    class RenderingSink:  # the line rendered as it reaches the sink, in the request
        @staticmethod
        def write(line: Any) -> None:
            return sink.write(line if type(line) is bytes else line[0](line))

    # the variants that hand the access line another sink for the request
    other_sinks = {"access line not handed to the sink": DroppingSink, "access line rendered at once": RenderingSink}

    def hooked_access_line(*args: Any) -> None:
        variant = state["v"]
        if variant in _NO_LINE:
            return None
        if variant == "constant access line":
            return sink.write(constant)
        other = other_sinks.get(variant)
        if other is not None:
            access._sink = other  # type: ignore[assignment]
            try:
                return access_line(*args)
            finally:
                access._sink = sink
        return access_line(*args)

    asgi.access_line = hooked_access_line
    asgi.observe_three = lambda *args: None if state["v"] == "no HTTP histograms" else observe_three(*args)
    write_all = sink._write_all
    sink._write_all = lambda data: None if state["v"] == "log lines not written" else write_all(data)

    # The Redis clients the app instruments, with their wrappers: a variant takes the wrappers off (the
    # client's own methods show through) and the next puts them back. Patched before api.telemetry imports it.
    instrumented: list[tuple[Any, dict[str, Any]]] = []
    instrument_redis = redis_instrumentation.instrument_redis

    def recording_instrument_redis(client: Any) -> Any:
        done = instrument_redis(client)
        instrumented.append((client, {name: client.__dict__[name] for name in ("execute_command", "pipeline")}))
        return done

    redis_instrumentation.instrument_redis = recording_instrument_redis
    call = asgi.TelemetryMiddleware.__call__

    def apply(middleware: Any, variant: str) -> None:
        """The variants that change state rather than a function: the tracer's sampling bound and the
        middleware's parts, back to what was configured for the others."""
        state["applied"] = True
        tracer = tracing.get_tracer()
        if hasattr(tracer, "bound"):  # LeanTracer: its roots are sampled below this bound
            state.setdefault("bound", tracer.bound)
            tracer.bound = 0 if variant == "nothing sampled" else state["bound"]
        configured = state.setdefault(id(middleware), (middleware.metrics, middleware.traces, middleware.logs))
        middleware.metrics, middleware.traces, middleware.logs = _PARTS.get(variant, configured)
        for client, wrappers in instrumented:
            for name, wrapper in wrappers.items():
                if variant in _NO_REDIS:
                    client.__dict__.pop(name, None)
                else:
                    setattr(client, name, wrapper)
        switches = state.setdefault("instruments", (instruments._metrics_on, instruments._traces_on))
        instruments.enable(*((False, False) if variant in _NO_INSTRUMENTS else switches))

    def rotating_call(self: Any, scope: Any, receive: Any, send: Any) -> Any:
        if scope["type"] == "http":
            state["n"] += 1
            if state["n"] >= window:
                if state["configured"] is None:
                    state["configured"] = sink.flush_interval_s
                now = time.process_time()  # every thread of the process: the span exporter's too
                windows.append((state["v"], now - state["t"], state["n"]))
                state["n"], state["t"] = 0, now
                state["i"] = (state["i"] + 1) % len(chosen)
                state["v"] = chosen[state["i"]]
                sink.flush_interval_s = 0.0 if state["v"] == "log lines written every loop turn" \
                    else state["configured"]
                apply(self, state["v"])
            elif not state["applied"]:  # the first request: the app and its tracer exist by now
                apply(self, state["v"])
            if state["v"] in _NO_MIDDLEWARE:
                return self.app(scope, receive, send)
        return call(self, scope, receive, send)

    asgi.TelemetryMiddleware.__call__ = rotating_call  # type: ignore[method-assign]

    def dump(*_: Any) -> None:
        with open(out_path, "w") as out:
            json.dump(windows, out)

    signal.signal(signal.SIGUSR2, dump)


def server_env(variants: list[str], window: int, out_path: str) -> dict[str, str]:
    """The environment that makes an API server load these hooks with ``variants`` taken in turn every
    ``window`` requests, its windows written to ``out_path`` on SIGUSR2 (what the lines below read)."""
    hooks = Path(__file__).resolve().parent
    return {"PYTHONPATH": f"{hooks}{os.pathsep}{hooks.parents[1]}", "BENCH_AB_HOOK_VARIANTS": ";".join(variants),
            "BENCH_AB_HOOK_WINDOW": str(window), "BENCH_AB_HOOK_OUT": out_path}


if os.environ.get("BENCH_AB_HOOK_VARIANTS"):  # set through server_env for the servers the benches start
    install(os.environ["BENCH_AB_HOOK_VARIANTS"].split(";"), int(os.environ["BENCH_AB_HOOK_WINDOW"]),
            os.environ["BENCH_AB_HOOK_OUT"])
