"""What one sampled request's spans cost in-process, from start to the exported bytes: each way of
starting and ending them, and each way of encoding them, against a baseline measured in the same run.

    make bench BENCH=span_pipeline          # or: .venv/bin/python -m benchmarks.span_pipeline
    BENCH_REQUESTS=5000 BENCH_ROUNDS=7      (defaults)

A request here is the vehicle detail's sampled trace: a server span with eight attributes, three Redis
client spans and one SQL client span under it, then the server span's name, route and status, all through
a BatchSpanProcessor as the API has it (its queue emptied between rounds, so its exports do not run
inside the measured loop). Ways of making the spans:
- ``SDK tracer``: the OpenTelemetry SDK's Tracer and Span (the baseline);
- ``LeanTracer.start_span``: exporters.lean_tracer through the generic tracer call, as the SQL and Redis
  wrappers did before 27 Nov 2026 (each span's attributes checked, a new ReadableSpan at its end);
- ``start_child_span``: the way they do now (``tracing.recording_span`` and ``tracing.start_child_span``:
  the parent passed in, attributes adopted, the span itself handed to the processors).
Ways of encoding the spans of those requests, in 512-span batches (the BatchSpanProcessor's), against the
SDK's OTLP protobuf encoder (the baseline): every span as a dict serialised by orjson (exporters.otlp_json
before 27 Nov 2026), and ``encode_spans`` as it is (one bytes format a span over remembered fragments).
Each figure is the best of the rounds (``time.process_time`` per request, the garbage collector off
during a round), the ratio is figure / baseline.
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_protobuf
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

from benchmarks.settings import positive_int
from exporters import otlp_json, tracing

REQUESTS = positive_int("BENCH_REQUESTS", 5000)
ROUNDS = positive_int("BENCH_ROUNDS", 7)
BATCH = 512
SERVER_ATTRIBUTES = {"http.request.method": "GET", "url.path": "/v1/vehicles/8d3e", "url.scheme": "http",
                     "network.protocol.version": "1.1", "server.address": "127.0.0.1", "server.port": 8000,
                     "client.address": "127.0.0.1", "user_agent.original": "wrk"}
REDIS_ATTRIBUTES = {"db.system.name": "redis", "db.namespace": "0", "server.address": "127.0.0.1",
                    "server.port": 6379}
SQL_ATTRIBUTES = {"db.system.name": "postgresql", "db.operation.name": "SELECT", "db.collection.name": "vehicles",
                  "db.query.text": "SELECT v.id, v.make, v.model FROM vehicles v WHERE v.id = %s",
                  "db.namespace": "island", "server.address": "127.0.0.1", "server.port": 5432}
REDIS_OPERATIONS = ("GET", "GET", "INCR")


class Keep(SpanExporter):
    """Keeps what it is given (the encoders' input), exports nothing."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _processor(keep: Keep) -> BatchSpanProcessor:
    # Exported only by force_flush, between rounds.
    return BatchSpanProcessor(keep, max_queue_size=REQUESTS * 8, schedule_delay_millis=3_600_000,
                              max_export_batch_size=REQUESTS * 8)


def sdk_request(tracer: Any) -> None:
    with tracer.start_as_current_span("GET", kind=SpanKind.SERVER, attributes=SERVER_ATTRIBUTES) as server:
        for operation in REDIS_OPERATIONS:
            tracer.start_span(operation, kind=SpanKind.CLIENT,
                              attributes={**REDIS_ATTRIBUTES, "db.operation.name": operation}).end()
        tracer.start_span("SELECT vehicles", kind=SpanKind.CLIENT, attributes=SQL_ATTRIBUTES).end()
        server.update_name("GET /v1/vehicles/{vehicle_id}")
        server.set_attribute("http.route", "/v1/vehicles/{vehicle_id}")
        server.set_attribute("http.response.status_code", 200)


def lean_request(children: str) -> None:
    server, _, token = tracing.begin_request("GET", None)
    assert server is not None  # sampled at ratio 1
    server.adopt_attributes(dict(SERVER_ATTRIBUTES))  # type: ignore[attr-defined]
    tracer = tracing.get_tracer()
    for operation in REDIS_OPERATIONS:
        if children == "start_span":
            tracer.start_span(operation, kind=SpanKind.CLIENT,
                              attributes={**REDIS_ATTRIBUTES, "db.operation.name": operation}).end()
        else:
            parent = tracing.recording_span()
            assert parent is not None
            tracing.start_child_span(parent, operation, SpanKind.CLIENT,
                                     {**REDIS_ATTRIBUTES, "db.operation.name": operation}).end()
    if children == "start_span":
        tracer.start_span("SELECT vehicles", kind=SpanKind.CLIENT, attributes=SQL_ATTRIBUTES).end()
    else:
        parent = tracing.recording_span()
        assert parent is not None
        tracing.start_child_span(parent, "SELECT vehicles", SpanKind.CLIENT, dict(SQL_ATTRIBUTES)).end()
    server.update_name("GET /v1/vehicles/{vehicle_id}")
    server.set_attribute("http.route", "/v1/vehicles/{vehicle_id}")
    server.set_attribute("http.response.status_code", 200)
    server.end()
    tracing.detach(token)


def best_per_request(run: Callable[[], None], flush: Callable[[], Any], count: int) -> float:
    """The best round's process time per call of ``run``, in µs."""
    best = float("inf")
    for _ in range(ROUNDS):
        flush()
        gc.collect()
        gc.disable()
        start = time.process_time()
        for _ in range(count):
            run()
        best = min(best, (time.process_time() - start) / count)
        gc.enable()
    flush()
    return best * 1e6


def encode_dicts(spans: Sequence[ReadableSpan]) -> bytes:
    """The whole request as dicts serialised by orjson once: exporters.otlp_json.encode_spans before
    27 Nov 2026 (its spans are still encoded this way when they carry events, links or a trace state)."""
    by_resource: dict[int, tuple[Any, dict[int, tuple[Any, list[dict[str, Any]]]]]] = {}
    for span in spans:
        scopes = by_resource.setdefault(id(span.resource), (span.resource, {}))[1]
        scope = span.instrumentation_scope
        scopes.setdefault(id(scope), (scope, []))[1].append(otlp_json._span(span))
    return orjson.dumps({"resourceSpans": [
        {"resource": {"attributes": otlp_json._attributes(resource.attributes)},
         "scopeSpans": [{"scope": {"name": scope.name, "version": scope.version or ""}, "spans": encoded}
                        for scope, encoded in scopes.values()]}
        for resource, scopes in by_resource.values()]})


def encode_protobuf_bytes(spans: Sequence[ReadableSpan]) -> bytes:
    return encode_protobuf(spans).SerializeToString()  # type: ignore[no-any-return]


def main() -> None:
    resource = Resource.create({"service.name": "island-api", "service.version": "bench"})
    figures: dict[str, float] = {}

    keep = Keep()
    sdk_processor = _processor(keep)
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(1.0)))
    provider.add_span_processor(sdk_processor)
    sdk_tracer = provider.get_tracer(tracing.INSTRUMENTATION_NAME)
    figures["SDK tracer"] = best_per_request(lambda: sdk_request(sdk_tracer), sdk_processor.force_flush, REQUESTS)

    lean_processor = _processor(keep)
    tracing.configure_tracing("island-api", "bench", 1.0, processors=[lean_processor])
    for children in ("start_span", "start_child_span"):
        name = "LeanTracer.start_span" if children == "start_span" else "start_child_span"
        figures[name] = best_per_request(lambda way=children: lean_request(way),  # type: ignore[misc]
                                         lean_processor.force_flush, REQUESTS)
    spans = keep.spans[-REQUESTS * 5:]  # the last way's spans: LeanSpans, as the API exports them
    tracing.disable_tracing()
    provider.shutdown()

    batches = [spans[i:i + BATCH] for i in range(0, len(spans), BATCH)]
    encoders: dict[str, Callable[[Sequence[ReadableSpan]], bytes]] = {
        "SDK protobuf": encode_protobuf_bytes, "dicts + orjson": encode_dicts, "encode_spans": otlp_json.encode_spans}
    encoded: dict[str, float] = {}
    for name, encode in encoders.items():
        per_batch = best_per_request(lambda way=encode: [way(batch) for batch in batches],  # type: ignore[misc]
                                     lambda: None, 1)
        encoded[name] = per_batch / len(spans) * 5  # µs per request (five spans)

    print(f"one sampled vehicle-detail request (five spans), best of {ROUNDS} rounds of {REQUESTS}")
    print(f"{'starting and ending the spans':32} {'µs/request':>11} {'ratio':>7}")
    for name, value in figures.items():
        print(f"{name:32} {value:11.1f} {value / figures['SDK tracer']:7.2f}")
    print(f"{'encoding them (512-span batches)':32} {'µs/request':>11} {'ratio':>7}")
    for name, value in encoded.items():
        print(f"{name:32} {value:11.1f} {value / encoded['SDK protobuf']:7.2f}")


if __name__ == "__main__":
    main()
