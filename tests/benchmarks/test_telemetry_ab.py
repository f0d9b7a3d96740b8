"""The in-process A/B benchmark: how its hooks rotate the variants inside a server, and how it reads the
windows they record."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from benchmarks import telemetry_ab
from benchmarks.ab_hooks import sitecustomize as hooks


def test_cycles_pair_one_window_of_each_variant_and_drop_the_warm_up():
    variants = ["a", "b"]
    windows = [["a", 1.0, 1000], ["b", 2.0, 1000]] * 2 + [["a", 0.5, 1000], ["b", 0.6, 500], ["a", 9.0, 1000]]
    # two warm-up cycles dropped, the last window (no "b" after it) incomplete
    assert telemetry_ab.cycles(windows, variants) == [{"a": 500.0, "b": 1200.0}]


async def answer_ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def serve(middleware: Any, count: int) -> None:
    """``count`` GET requests through ``middleware``, to the paths /r0, /r1, ..."""
    async def send(message: Any) -> None:
        pass

    async def requests() -> None:
        for n in range(count):
            await middleware({"type": "http", "method": "GET", "path": f"/r{n}", "headers": [], "client": None},
                             None, send)

    asyncio.run(requests())


@pytest.fixture
def restore_hooked_functions():
    from exporters import asgi, instruments, redis_instrumentation, tracing
    from exporters.logs import setup

    saved = (asgi.TelemetryMiddleware.__call__, asgi.access_line, asgi.observe_three, tracing.begin_request,
             setup.SINK.flush_interval_s, redis_instrumentation.instrument_redis)
    switches = (instruments._metrics_on, instruments._traces_on)
    yield
    (asgi.TelemetryMiddleware.__call__, asgi.access_line, asgi.observe_three, tracing.begin_request,
     setup.SINK.flush_interval_s, redis_instrumentation.instrument_redis) = saved
    instruments.enable(*switches)
    setup.SINK.__dict__.pop("_write_all", None)


def test_the_hooks_take_the_variants_in_turn_and_record_each_window(tmp_path, restore_hooked_functions):
    """Every ``window`` requests the next variant; the access line is skipped in its window only, and the
    windows written on SIGUSR2 name the variant they measured."""
    import os
    import signal

    from exporters import asgi
    from exporters.config import TelemetryConfig

    lines: list[str] = []
    original_line = asgi.access_line
    asgi.access_line = lambda *args: lines.append(args[1])  # stands for the real line: the path it logs
    out = tmp_path / "windows.json"
    previous = signal.getsignal(signal.SIGUSR2)
    hooks.install(["as configured", "no access line"], 2, str(out))
    try:
        serve(asgi.TelemetryMiddleware(answer_ok, TelemetryConfig(metrics=False, traces=False, logs=True)), 8)
        os.kill(os.getpid(), signal.SIGUSR2)
        windows = json.loads(out.read_text())
    finally:
        signal.signal(signal.SIGUSR2, previous)
        asgi.access_line = original_line
    # the request that fills a window is counted in it and served by the next variant
    assert [w[0] for w in windows] == ["as configured", "no access line", "as configured", "no access line"]
    assert all(w[2] == 2 for w in windows)
    assert lines == ["/r0", "/r3", "/r4", "/r7"]


def test_the_state_variants_hold_in_their_windows_only(tmp_path, restore_hooked_functions):
    """"middleware with no parts" turns the middleware's parts off, "nothing sampled" the root sampling, each
    in its own windows: the access lines and the exported spans show which variant served each request."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from exporters import asgi, tracing
    from exporters.config import TelemetryConfig

    lines: list[str] = []
    original_line = asgi.access_line
    asgi.access_line = lambda *args: lines.append(args[1])
    exporter = InMemorySpanExporter()
    tracing.configure_tracing("island-api", "test", 1.0, exporters=[exporter])
    hooks.install(["as configured", "middleware with no parts", "nothing sampled"], 2, str(tmp_path / "w.json"))
    try:
        middleware = asgi.TelemetryMiddleware(answer_ok, TelemetryConfig(metrics=False, traces=True, logs=True))
        serve(middleware, 12)
        spans = {span.attributes["url.path"] for span in exporter.get_finished_spans()}
        bound = tracing.get_tracer().bound  # type: ignore[attr-defined]
    finally:
        asgi.access_line = original_line
        tracing.disable_tracing()
    # windows of two, the request that fills one served by the next variant: as configured r0 r5 r6 r11,
    # no parts r1 r2 r7 r8, nothing sampled r3 r4 r9 r10
    assert lines == ["/r0", "/r3", "/r4", "/r5", "/r6", "/r9", "/r10", "/r11"]
    assert spans == {"/r0", "/r5", "/r6", "/r11"}
    assert bound > 0 and (middleware.metrics, middleware.traces, middleware.logs) == (False, True, True)


def test_the_rendered_at_once_variant_hands_the_sink_bytes_in_its_windows_only(tmp_path, restore_hooked_functions):
    """The access line reaches the sink as a tuple to render when the sink writes, except in the windows of
    "access line rendered at once", where it arrives rendered (the way it was before)."""
    from exporters import asgi
    from exporters.config import TelemetryConfig
    from exporters.logs import configure_logging, setup

    configure_logging("island-api", "test", tmp_path, "info", stdout=False)
    seen: list[tuple[str, bool]] = []

    def record(line: Any) -> None:
        rendered = setup.line_bytes(line)
        seen.append((json.loads(rendered)["url"]["path"], type(line) is bytes))

    setup.SINK.write = record  # type: ignore[method-assign]
    hooks.install(["as configured", "access line rendered at once"], 2, str(tmp_path / "w.json"))
    try:
        serve(asgi.TelemetryMiddleware(answer_ok, TelemetryConfig(metrics=False, traces=False, logs=True)), 6)
    finally:
        del setup.SINK.write
    assert seen == [("/r0", False), ("/r1", True), ("/r2", True), ("/r3", False), ("/r4", False), ("/r5", True)]


def test_the_instrumentation_variants_take_the_redis_wrappers_and_instruments_off_in_their_windows_only(
        tmp_path, restore_hooked_functions):
    """"no Redis instrumentation" unwraps the clients the app instrumented (their own methods show through),
    "no instruments" switches exporters.instruments off, "nothing per request" does both and skips the
    middleware; each in its own windows, and the next window puts them back."""
    from redis.asyncio import Redis

    from exporters import asgi, instruments, redis_instrumentation
    from exporters.config import TelemetryConfig

    instruments.enable(True, False)
    seen: list[tuple[bool, bool]] = []
    client = Redis()  # never connects: only its methods are looked at

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(("execute_command" in vars(client), instruments._metrics_on))
        await answer_ok(scope, receive, send)

    lines: list[str] = []
    original_line = asgi.access_line
    asgi.access_line = lambda *args: lines.append(args[1])
    hooks.install(["as configured", "no Redis instrumentation", "no instruments", "nothing per request"], 2,
                  str(tmp_path / "w.json"))
    try:
        redis_instrumentation.instrument_redis(client)  # as api.telemetry does, after the hooks are in
        serve(asgi.TelemetryMiddleware(app, TelemetryConfig(metrics=False, traces=False, logs=True)), 10)
    finally:
        asgi.access_line = original_line
    # windows of two, the request that fills one served by the next variant: as configured r0 r7 r8,
    # no Redis instrumentation r1 r2 r9, no instruments r3 r4, nothing per request r5 r6
    wrapped, on = (True, True), [(False, True), (True, False), (False, False)]
    assert seen == [wrapped, on[0], on[0], on[1], on[1], on[2], on[2], wrapped, wrapped, on[0]]
    assert lines == ["/r0", "/r1", "/r2", "/r3", "/r4", "/r7", "/r8", "/r9"]  # no middleware in r5 r6
