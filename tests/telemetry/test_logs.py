"""ECS log processors, each alone, and the configured pipeline end to end (structlog and stdlib)."""
from __future__ import annotations

import json
import logging
import os
import re

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from exporters.config import TelemetryConfig, TelemetryConfigError
from exporters.logs import configure_logging
from exporters.logs.access import checked_id
from exporters.logs.processors import EcsRenderer, add_trace_ids, format_exception_info, nest_dotted
from exporters.logs.redact import luhn_valid, redact_secrets, redact_text


def test_renderer_puts_ecs_top_level_fields_first_and_nests_the_rest():
    line = EcsRenderer("island-api", "1.2.3")(None, "info", {
        "event": "hello", "log.level": "info", "@timestamp": "2026-01-01T00:00:00.000Z",
        "http.request.method": "GET", "http.response.status_code": 200, "user.id": "7"})
    doc = json.loads(line)
    assert list(doc)[:4] == ["@timestamp", "log.level", "message", "ecs.version"]
    assert doc["service"] == {"name": "island-api", "version": "1.2.3"}
    assert doc["http"] == {"request": {"method": "GET"}, "response": {"status_code": 200}}
    assert doc["user"] == {"id": "7"} and b"\n" not in line


def test_nesting_keeps_both_values_on_a_conflict():
    assert nest_dotted({"a": 1, "a.b": 2}, {}) == {"a": 1, "a.b": 2}
    assert nest_dotted({"a.b": 1, "a.c": 2}, {}) == {"a": {"b": 1, "c": 2}}


def test_trace_ids_come_from_the_current_span():
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("op") as span:
        event = add_trace_ids(None, "info", {})
    ctx = span.get_span_context()
    assert event == {"trace.id": format(ctx.trace_id, "032x"), "span.id": format(ctx.span_id, "016x")}
    assert add_trace_ids(None, "info", {}) == {}


def test_exception_becomes_ecs_error_fields():
    try:
        raise KeyError("missing")
    except KeyError as exc:
        event = format_exception_info(None, "error", {"exc_info": exc})
    assert event["error.type"] == "KeyError" and event["error.message"] == "'missing'"
    assert "Traceback" in event["error.stack_trace"] and "exc_info" not in event


@pytest.mark.parametrize("text, leaked", [
    ("postgresql://u:pw123@host/db", "pw123"),
    ("Authorization: Bearer abcdef123456", "abcdef123456"),
    ("password=hunter22 and more", "hunter22"),
    ('{"token": "tok-998877"}', "tok-998877"),
    ("pan 5555-5555-5555-4444 ok", "5555-5555-5555-4444"),
])
def test_redact_text_removes_each_pattern(text, leaked):
    assert leaked not in redact_text(text)


def test_redaction_leaves_ordinary_values_alone():
    assert redact_text("GET /v1/vehicles/1234567890123 from 10.0.0.1") == \
        "GET /v1/vehicles/1234567890123 from 10.0.0.1"  # 13 digits, not a valid card number
    assert not luhn_valid("1234567890123") and luhn_valid("4242424242424242")
    event = redact_secrets(None, "info", {"passenger_count": 3, "api_key": "x", "nested": {"Cookie": "c=1"}})
    assert event == {"passenger_count": 3, "api_key": "[REDACTED]", "nested": {"Cookie": "[REDACTED]"}}


def test_configured_pipeline_writes_ecs_lines_for_structlog_and_stdlib(tmp_path, capfd):
    configure_logging("island-test", "9.9.9", tmp_path, "info", log_file="api.log")
    structlog.get_logger().info("from structlog", **{"booking.id": 5})
    structlog.get_logger().debug("below the level")
    # uvicorn passes its message again with terminal colours as "color_message": not a field of the line
    logging.getLogger("uvicorn.error").warning("from %s", "uvicorn", extra={"request_id": "r-1",
                                                                            "color_message": "from \x1b[36m%s\x1b[0m"})
    lines = [json.loads(x) for x in (tmp_path / "api.log").read_text().splitlines()]
    assert [x["message"] for x in lines] == ["from structlog", "from uvicorn"]
    assert lines[0]["booking"] == {"id": 5} and lines[1]["log"]["logger"] == "uvicorn.error"
    assert lines[1]["log.level"] == "warning" and lines[1]["request_id"] == "r-1"
    assert "color_message" not in lines[1] and "\x1b" not in (tmp_path / "api.log").read_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lines[0]["@timestamp"])
    out = capfd.readouterr().out
    assert "from structlog" in out and "from uvicorn" in out  # the same lines on stdout


def test_bad_level_names_the_variable(tmp_path):
    with pytest.raises(ValueError, match="LOG_LEVEL"):
        configure_logging("x", "1", tmp_path, "loud")


@pytest.mark.parametrize("env, message", [
    ({"ISLAND_TELEMETRY": "metrics,colour"}, "ISLAND_TELEMETRY"),
    ({"OTEL_TRACES_SAMPLER_ARG": "lots"}, "OTEL_TRACES_SAMPLER_ARG"),
    ({"OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG"),
    ({"ISLAND_TELEMETRY_EXCLUDED_PATHS": "livez"}, "ISLAND_TELEMETRY_EXCLUDED_PATHS"),
    ({"ISLAND_LOG_FLUSH_MS": "soon"}, "ISLAND_LOG_FLUSH_MS: 'soon' is not a whole number"),
    ({"ISLAND_LOG_FLUSH_MS": "2.5"}, "ISLAND_LOG_FLUSH_MS"),
    ({"ISLAND_LOG_FLUSH_MS": "-1"}, "ISLAND_LOG_FLUSH_MS: -1 is not between 0 and 1000"),
    ({"ISLAND_LOG_FLUSH_MS": "5000"}, "ISLAND_LOG_FLUSH_MS: 5000 is not between 0 and 1000"),
])
def test_bad_telemetry_settings_name_the_variable(env, message):
    with pytest.raises(TelemetryConfigError, match=message):
        TelemetryConfig.from_env(env)


def test_telemetry_switches():
    assert TelemetryConfig.from_env({}).enabled
    off = TelemetryConfig.from_env({"ISLAND_TELEMETRY": "off"})
    assert not (off.metrics or off.traces or off.logs)
    only = TelemetryConfig.from_env({"ISLAND_TELEMETRY": "metrics", "OTEL_TRACES_SAMPLER_ARG": "0.5"})
    assert (only.metrics, only.traces, only.logs, only.sampler_ratio) == (True, False, False, 0.5)
    assert TelemetryConfig.from_env({}).log_flush_ms == 20
    assert TelemetryConfig.from_env({"ISLAND_LOG_FLUSH_MS": " 0 "}).log_flush_ms == 0


def test_access_line_follows_a_new_service_identity(tmp_path):
    """The access line's fixed fragments are remembered; configuring logging again (another version, another
    process id after a fork) must not leave the old identity in them."""
    import orjson

    from exporters.logs import access, setup

    lines: list[bytes] = []
    original = setup.SINK.write
    setup.SINK.write = lambda line: lines.append(setup.line_bytes(line))  # type: ignore[method-assign]
    try:
        for version in ("1.0.0", "2.0.0"):
            configure_logging("island-api", version, tmp_path, "info", stdout=False)
            access.access_line("GET", "/livez", 200, 0.001, "/livez", "127.0.0.1", "wrk", None, None, None, 0, 15)
    finally:
        setup.SINK.write = original  # type: ignore[method-assign]
    assert [orjson.loads(line)["service"]["version"] for line in lines] == ["1.0.0", "2.0.0"]


@pytest.mark.parametrize("path, agent, user_id, request_id, route, ip, trace", [
    ("/v1/vehicles/7", "curl/8.5", 12, "16ecc1109e124f07928a181207ee3b48", "/v1/vehicles/{vehicle_id}",
     "127.0.0.1", ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")),
    ('/odd/"quoted"\\back\tslash/\u00e9\u2603/\x01', 'agent "with" \\ quotes\n', "u-1", None, None, None, None),
    ("/cards/4242424242424242", "", None, "Bearer planted-token-123456", "/cards/{n}", "::1", None),
    # A letters-and-digits request id takes the shortcut unless it holds a card-length digit run.
    ("/v1/islands", "curl/8.5", None, "req4242424242424242x", "/v1/islands", "10.0.0.1", None),
    ("/v1/islands", "curl/8.5", None, "\u00e9t\u00e9", "/v1/islands", "10.0.0.1", None),
    # An id the API generated and checked once (api.middleware.new_request_id) is written as it is.
    ("/v1/islands", "curl/8.5", 3, checked_id("7c1e0a9d2b5f4e8a9c3d6b1f0e2a4c8d"), "/v1/islands", "10.0.0.1", None),
])
def test_access_line_bytes_are_the_nested_ecs_document(tmp_path, path, agent, user_id, request_id, route, ip,
                                                       trace):
    """The access line is assembled from byte fragments: it must equal orjson's dump of the nested document
    (the layout every other line has), with escaping and redaction intact."""
    import orjson

    from exporters.logs import access, setup

    configure_logging("island-api", "1.2.3", tmp_path, "info", stdout=False)
    lines: list[bytes] = []
    original = setup.SINK.write
    setup.SINK.write = lambda line: lines.append(setup.line_bytes(line))  # type: ignore[method-assign]
    try:
        for _ in range(2):  # the second time through the memo of redacted paths / User-Agents
            access.access_line("GET", path, 201, 0.004453474, route, ip, agent, user_id, request_id,
                               b"00-%s-%s-01" % (trace[0].encode(), trace[1].encode()) if trace else None,
                               17, 612)
    finally:
        setup.SINK.write = original  # type: ignore[method-assign]
    assert lines[0][lines[0].index(b'"log.level"'):] == lines[1][lines[1].index(b'"log.level"'):]
    got = orjson.loads(lines[0])
    safe_path = redact_text(path)
    request = {"method": "GET", "body": {"bytes": 17}}
    if request_id is not None:
        request["id"] = redact_text(request_id)
    http = {"request": request, "response": {"status_code": 201, "body": {"bytes": 612}}}
    if route is not None:
        http["route"] = route
    expected = {"@timestamp": got["@timestamp"], "log.level": "info", "message": f"GET {safe_path} 201",
                "ecs.version": "8.11.0", "service": {"name": "island-api", "version": "1.2.3"},
                "process": {"pid": os.getpid()}, "log": {"logger": "access"}, "url": {"path": safe_path},
                "http": http}
    if ip is not None:
        expected["client"] = {"ip": ip}
    if agent:
        expected["user_agent"] = {"original": redact_text(agent)}
    expected["event"] = {"dataset": "island.access", "duration": 4453474}
    if user_id is not None:
        expected["user"] = {"id": str(user_id)}
    if trace:
        expected["trace"], expected["span"] = {"id": trace[0]}, {"id": trace[1]}
    assert lines[0] == orjson.dumps(expected)
    assert re.fullmatch(rb'\{"@timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z".*', lines[0])
    assert b"4242424242424242" not in lines[0] and b"planted-token" not in lines[0]


def _recording_sink(path, interval_s):
    """A LineSink on a file at ``path`` that also records what each write call wrote."""
    from exporters.logs.setup import LineSink

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    sink = LineSink([fd], flush_interval_s=interval_s)
    writes: list[bytes] = []
    real_write_all = sink._write_all
    sink._write_all = lambda data: (writes.append(data), real_write_all(data))  # type: ignore[method-assign]
    return sink, writes, fd


def test_the_line_sink_at_interval_0_writes_once_per_loop_iteration_and_never_strands_a_line(tmp_path):
    """At ``ISLAND_LOG_FLUSH_MS=0``, lines logged on the event loop are gathered and written at the end of
    the iteration (one write per file); a line from another thread is written at once; and a line logged
    after the loop its flush was scheduled on has stopped (a new loop, as between tests or after shutdown)
    still reaches the file."""
    import asyncio
    import threading

    path = tmp_path / "sink.log"
    sink, writes, fd = _recording_sink(path, 0)

    async def one_iteration() -> bytes:
        for n in range(3):
            sink.write(b"line %d" % n)
        on_disk = path.read_bytes()  # nothing yet: the flush runs at the end of the iteration
        await asyncio.sleep(0)
        return on_disk

    try:
        before = asyncio.run(one_iteration())
        assert before == b"" and writes == [b"line 0\nline 1\nline 2\n"]

        thread = threading.Thread(target=sink.write, args=(b"from a thread",))
        thread.start()
        thread.join()
        assert path.read_bytes().endswith(b"from a thread\n")

        loop = asyncio.new_event_loop()

        def log_and_stop() -> None:
            sink.write(b"last of the first loop")  # the loop stops before the flush it scheduled runs...
            loop.stop()

        loop.call_soon(log_and_stop)
        loop.run_forever()
        loop.close()
        assert not path.read_bytes().endswith(b"last of the first loop\n")
        asyncio.run(one_iteration())  # ...so the next loop's first line schedules a flush that writes both
        assert path.read_bytes().endswith(b"last of the first loop\nline 0\nline 1\nline 2\n")
    finally:
        os.close(fd)


def test_the_line_sink_gathers_the_lines_of_its_interval_into_one_write(tmp_path):
    """By default the lines of several loop iterations go out together, one write, once the interval that
    the first of them opened has passed; the next line opens a new interval."""
    import asyncio

    path = tmp_path / "sink.log"
    sink, writes, fd = _recording_sink(path, 0.05)

    async def spread_over_iterations() -> tuple[bytes, list[bytes]]:
        sink.write(b"line 0")
        await asyncio.sleep(0)
        sink.write(b"line 1")
        await asyncio.sleep(0.005)
        sink.write(b"line 2")
        await asyncio.sleep(0)
        within = (path.read_bytes(), list(writes))  # the interval has not passed: nothing written yet
        await asyncio.sleep(0.2)
        sink.write(b"line 3")
        await asyncio.sleep(0.2)
        return within

    try:
        assert asyncio.run(spread_over_iterations()) == (b"", [])
        assert writes == [b"line 0\nline 1\nline 2\n", b"line 3\n"]
        assert path.read_bytes() == b"line 0\nline 1\nline 2\nline 3\n"
    finally:
        os.close(fd)


def test_the_line_sink_writes_at_once_when_too_many_lines_wait(tmp_path):
    """A burst does not pile up for the whole interval: at MAX_PENDING_LINES the lines are written at
    once, and the lines after them wait for their own interval (here flushed by hand, as at exit)."""
    import asyncio

    from exporters.logs.setup import MAX_PENDING_LINES

    path = tmp_path / "sink.log"
    sink, writes, fd = _recording_sink(path, 10.0)

    async def burst() -> list[bytes]:
        for n in range(MAX_PENDING_LINES + 1):
            sink.write(b"%d" % n)
        return list(writes)

    try:
        during = asyncio.run(burst())
        assert during == [b"".join(b"%d\n" % n for n in range(MAX_PENDING_LINES))]
        sink.flush()
        assert path.read_bytes().splitlines() == [b"%d" % n for n in range(MAX_PENDING_LINES + 1)]
    finally:
        os.close(fd)


def test_the_line_sink_renders_a_deferred_line_when_it_writes_in_the_order_lines_came(tmp_path, monkeypatch):
    """A tuple handed to the sink (the access line) is rendered by its first item when the gathered lines
    are written, not before, and takes its place among the bytes lines; off the loop it is rendered and
    written at once. A tuple whose rendering fails is still written, as an ECS error line like any other
    (identity, redaction) that says so and holds the tuple's values: the lines around it are written as
    usual. Before logging is configured, that line comes from the minimal chain."""
    import asyncio
    import threading

    import orjson

    from exporters.logs import setup

    configure_logging("island-api", "1.2.3", tmp_path / "configured", "info", stdout=False)
    path = tmp_path / "sink.log"
    sink, writes, fd = _recording_sink(path, 10.0)
    calls: list[str] = []

    def render(item):
        calls.append(item[1])
        return item[1].encode()

    def broken(item):
        raise ValueError("no shape for this")

    class Unshowable:
        def __repr__(self):
            raise RuntimeError("no repr either")

    async def log_some() -> list[str]:
        sink.write(b"first")
        sink.write((render, "second"))
        sink.write((broken, "third", 3, "Bearer planted-token-123456"))
        sink.write(b"fourth")
        sink.write((broken, Unshowable()))
        await asyncio.sleep(0)
        return list(calls)

    try:
        assert asyncio.run(log_some()) == []  # nothing rendered while the lines wait
        sink.flush()
        first, second, third, fourth, fifth = path.read_bytes().splitlines()
        assert orjson.loads(fifth)["event"]["original"] == "(could not be shown)"
        assert (first, second, fourth, calls) == (b"first", b"second", b"fourth", ["second"])
        failed = orjson.loads(third)
        assert failed["log.level"] == "error" and failed["error"] == {"type": "ValueError",
                                                                      "message": "no shape for this"}
        assert failed["message"] == "a log line could not be rendered"
        assert failed["service"] == {"name": "island-api", "version": "1.2.3"}
        assert failed["event"]["original"].startswith("('third', 3, ")
        assert "planted-token" not in failed["event"]["original"]  # redacted like any other field
        thread = threading.Thread(target=sink.write, args=((render, "from a thread"),))
        thread.start()
        thread.join()
        assert path.read_bytes().splitlines()[-2:] == [fifth, b"from a thread"] and len(writes) == 2
        monkeypatch.setattr(setup, "_CHAIN", [])  # logging not configured
        sink.write((broken, "Bearer planted-token-123456"))
        plain = orjson.loads(path.read_bytes().splitlines()[-1])
        assert plain["level"] == "error" and plain["error.type"] == "ValueError"
        assert plain["event.original"].startswith("('Bearer ") and "planted-token" not in plain["event.original"]
    finally:
        os.close(fd)


def test_a_line_appended_while_the_sink_renders_is_kept_for_the_next_write(tmp_path):
    """The loop's thread appends without a lock while another thread may be flushing: the flush deletes
    only the lines it rendered, so one appended meanwhile is written by the next flush, not dropped."""
    path = tmp_path / "sink.log"
    sink, writes, fd = _recording_sink(path, 10.0)

    def render_while_a_line_arrives(item):
        sink._pending.append(b"arrived during the rendering")  # what LineSink.write's fast path does
        return b"rendered"

    try:
        sink._pending.extend([b"first", (render_while_a_line_arrives,)])
        sink.flush()
        assert writes == [b"first\nrendered\n"]
        sink.flush()
        assert path.read_bytes().splitlines() == [b"first", b"rendered", b"arrived during the rendering"]
    finally:
        os.close(fd)


def test_checked_id_accepts_only_what_the_access_line_may_write_as_it_is():
    from api.middleware import new_request_id
    from exporters.logs.access import CheckedId

    assert type(checked_id("16ecc1109e124f07928a181207ee3b48")) is CheckedId
    assert checked_id("16ecc1109e124f07928a181207ee3b48") == "16ecc1109e124f07928a181207ee3b48"
    for refused in ("req4242424242424242x",  # a card-length run of digits: the redaction would mask it
                    "req-1", "a b", 'q"uote', "\u00e9t\u00e9", "\u00b2" * 3, ""):
        assert checked_id(refused) is None, refused
    assert all(type(new_request_id()) is CheckedId for _ in range(200))
    # Built any other way, the check is made all the same: no CheckedId holds what the line must escape.
    with pytest.raises(ValueError, match="not a plain request id"):
        CheckedId('x"}\n{"forged":1')
    import copy
    import pickle

    kept = checked_id("abc123")
    assert type(pickle.loads(pickle.dumps(kept))) is CheckedId and type(copy.deepcopy(kept)) is CheckedId


def test_the_api_takes_its_log_flush_interval_from_the_environment(tmp_path, monkeypatch):
    """``ISLAND_LOG_FLUSH_MS`` reaches the sink of the API's logging; a bad value stops the start-up with
    an error that names the variable."""
    from types import SimpleNamespace

    from api import telemetry as api_telemetry
    from api.settings import ConfigError
    from exporters.logs.setup import DEFAULT_FLUSH_INTERVAL_S, SINK

    settings = SimpleNamespace(service_name="island-api", log_dir=tmp_path)
    try:
        monkeypatch.setenv("ISLAND_LOG_FLUSH_MS", "0")
        api_telemetry.configure_logging(settings)
        assert SINK.flush_interval_s == 0
        monkeypatch.setenv("ISLAND_LOG_FLUSH_MS", "7")
        api_telemetry.configure_logging(settings)
        assert SINK.flush_interval_s == 0.007
        monkeypatch.setenv("ISLAND_LOG_FLUSH_MS", "never")
        with pytest.raises(ConfigError, match="ISLAND_LOG_FLUSH_MS: 'never'"):
            api_telemetry.configure_logging(settings)
    finally:
        SINK.flush_interval_s = DEFAULT_FLUSH_INTERVAL_S
