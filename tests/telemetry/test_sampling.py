"""The server span's own root sampling agrees with ParentBased(TraceIdRatioBased) and keeps its ids."""
from __future__ import annotations

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

from exporters import tracing


def test_roots_are_sampled_by_ratio_and_keep_their_trace_id():
    exporter = InMemorySpanExporter()
    tracing.configure_tracing("island-api", "test", 0.5, exporters=[exporter])
    try:
        spans, recorded = [], []
        for _ in range(400):
            span, traceparent, token = tracing.begin_request("GET", None)
            current = trace.get_current_span()  # what the request's logs and client spans see
            tracing.detach(token)
            assert traceparent == tracing.traceparent_bytes(current.get_span_context())
            assert (span is current) if span is not None else not current.is_recording()
            spans.append(current)
            if span is not None:
                recorded.append(span)
                span.end()
        sampled = [s for s in spans if s.get_span_context().trace_flags.sampled]
        assert sampled == recorded
        assert 120 < len(sampled) < 280  # 0.5 of 400, far outside any plausible random spread
        bound = TraceIdRatioBased(0.5).bound
        for span in spans:
            ctx = span.get_span_context()
            assert ctx.is_valid
            assert ctx.trace_flags.sampled == ((ctx.trace_id & TraceIdRatioBased.TRACE_ID_LIMIT) < bound)
        exported = {s.context.trace_id for s in exporter.get_finished_spans()}
        assert exported == {s.get_span_context().trace_id for s in sampled}
    finally:
        tracing.disable_tracing()


def test_the_written_out_root_path_gives_what_the_general_one_gives():
    """begin_request writes out the usual case (no incoming traceparent, the default runtime context): with
    the same random draws it must make the same root as the general path (an empty carrier takes that
    one), sampled or not: same traceparent, same current span context, the span only when sampled."""
    import random

    from exporters.lean_tracer import LeanSpan

    tracing.configure_tracing("island-api", "test", 0.5)
    try:
        kinds = set()
        for seed in range(60):
            seen = []
            for carrier in (None, {}):
                random.seed(seed)
                span, traceparent, token = tracing.begin_request("GET", carrier)
                current = trace.get_current_span()
                tracing.detach(token)
                assert trace.get_current_span() is trace.INVALID_SPAN
                seen.append((traceparent, current.get_span_context(), current.is_recording(), type(span)))
                if span is not None:
                    assert span is current and type(span) is LeanSpan
                    span.end()
            assert seen[0] == seen[1]
            kinds.add(seen[0][3])
        assert kinds == {LeanSpan, type(None)}  # both cases met
    finally:
        tracing.disable_tracing()


def test_a_sampled_parent_is_followed_whatever_the_ratio():
    exporter = InMemorySpanExporter()
    tracing.configure_tracing("island-api", "test", 0.0, exporters=[exporter])
    try:
        carrier = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
        key = otel_context.create_key("outer")
        outer = otel_context.attach(otel_context.set_value(key, "around the request"))
        try:
            span, traceparent, token = tracing.begin_request("GET", carrier)
            try:
                # Current inside: the span, in the context extracted from the request (where OpenTelemetry's
                # own instrumentations attach a server span too): values current around it are not carried in.
                assert trace.get_current_span() is span and otel_context.get_value(key) is None
            finally:
                tracing.detach(token)
            assert otel_context.get_value(key) == "around the request"
        finally:
            otel_context.detach(outer)
        assert traceparent.startswith(b"00-4bf92f3577b34da6a3ce929d0e0e4736-") and traceparent.endswith(b"-01")
        span.end()
        [exported] = exporter.get_finished_spans()
        assert exported.context.trace_id == 0x4bf92f3577b34da6a3ce929d0e0e4736
        assert exported.parent.span_id == 0x00f067aa0ba902b7
        span, traceparent, token = tracing.begin_request("GET", None)
        tracing.detach(token)
        assert span is None and int(traceparent[-2:], 16) & 1 == 0  # a root at ratio 0: not sampled, real ids
        assert trace.get_current_span() is trace.INVALID_SPAN
    finally:
        tracing.disable_tracing()
    assert tracing.begin_request("GET", carrier) == (None, None, None)  # tracing off


def test_traceparent_bytes_is_the_w3c_header_value():
    from opentelemetry.trace import SpanContext, TraceFlags

    for trace_id, span_id, flags in ((1, 1, 0), (0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, 1),
                                     (2**128 - 1, 2**64 - 1, 3)):
        context = SpanContext(trace_id, span_id, False, TraceFlags(flags))
        value = tracing.traceparent_bytes(context)
        assert value == tracing.format_traceparent(context).encode()
        assert len(value) == 55 and value.split(b"-")[3] == b"%02x" % flags
        assert tracing.hex_ids(value) == (f"{trace_id:032x}", f"{span_id:016x}")
    example = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, False, TraceFlags(1))
    assert tracing.format_traceparent(example) == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize("fast", [True, False])
def test_attach_span_makes_the_span_current_like_the_public_api(monkeypatch, fast):
    """tracing.attach_span sets OpenTelemetry's context straight on its ContextVar: what is current inside
    (the span, and every other value of the context it was attached in) and after detach must be what
    ``context.attach(trace.set_span_in_context(...))`` gives; without the default runtime context it must
    use exactly that."""
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext

    if not fast:
        monkeypatch.setattr(tracing, "_CURRENT_CONTEXT", None)
    else:
        assert tracing._CURRENT_CONTEXT is not None  # the shortcut is really taken with the default runtime
    key = otel_context.create_key("outer")
    outer = otel_context.attach(otel_context.set_value(key, "kept"))
    try:
        span = NonRecordingSpan(SpanContext(0x1234, 0x5678, False))
        token = tracing.attach_span(span, None)
        assert trace.get_current_span() is span and otel_context.get_value(key) == "kept"
        tracing.detach(token)
        assert trace.get_current_span() is trace.INVALID_SPAN and otel_context.get_value(key) == "kept"
        parent = otel_context.set_value(key, "from the parent", otel_context.Context())
        token = tracing.attach_span(span, parent)
        assert trace.get_current_span() is span and otel_context.get_value(key) == "from the parent"
        tracing.detach(token)
        assert otel_context.get_value(key) == "kept"
    finally:
        otel_context.detach(outer)


@pytest.mark.parametrize("fast", [True, False])
def test_recording_span_agrees_with_the_public_api(monkeypatch, fast):
    """tracing.recording_span (asked before every SQL statement and Redis command) must answer the current
    span exactly when ``trace.get_current_span().is_recording()`` says it records, else None: nothing
    current, an unsampled span, a recorded one, an ended one."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext

    if not fast:
        monkeypatch.setattr(tracing, "_CURRENT_CONTEXT", None)
    provider = tracing.configure_tracing("svc", "1", 1.0)
    try:
        recorded = tracing.get_tracer().start_span("recorded")
        assert recorded.is_recording()
        assert tracing.recording_span() is None and not trace.get_current_span().is_recording()
        for span, expected in ((NonRecordingSpan(SpanContext(0x1234, 0x5678, False)), False), (recorded, True)):
            token = tracing.attach_span(span, None)
            try:
                assert trace.get_current_span().is_recording() is expected
                assert tracing.recording_span() is (span if expected else None)
            finally:
                tracing.detach(token)
        recorded.end()
        token = tracing.attach_span(recorded, None)  # an ended span records no more
        try:
            assert tracing.recording_span() is None and not trace.get_current_span().is_recording()
        finally:
            tracing.detach(token)
    finally:
        provider.shutdown()
        tracing.disable_tracing()
