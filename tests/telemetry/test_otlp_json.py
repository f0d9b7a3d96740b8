"""exporters.otlp_json: the JSON encoding decodes to exactly the message the SDK's protobuf encoder builds,
and the protocol switch is validated by name."""
from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_protobuf
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from exporters.config import TelemetryConfig, TelemetryConfigError
from exporters.otlp_json import encode_spans, traces_endpoint


def _decode(payload: bytes) -> ExportTraceServiceRequest:
    document: dict[str, Any] = orjson.loads(payload)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
                for link in span.get("links", []):
                    for key in ("traceId", "spanId"):
                        link[key] = base64.b64encode(bytes.fromhex(link[key])).decode()
    return json_format.ParseDict(document, ExportTraceServiceRequest())


def _spans() -> Any:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "island-api", "service.version": "9"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("island-rides", "1.0")
    other = provider.get_tracer("other-scope")
    with tracer.start_as_current_span("GET /v1/vehicles/{vehicle_id}", kind=SpanKind.SERVER,
                                      attributes={"http.route": "/v1/vehicles/{vehicle_id}", "server.port": 8000,
                                                  "flag": True, "ratio": 0.25, "tags": ("a", "b")}) as root:
        root.add_event("exception", {"exception.type": "ValueError", "exception.message": "bad"})
        root.set_status(Status(StatusCode.ERROR, "boom"))
        with tracer.start_as_current_span("SELECT vehicles", kind=SpanKind.CLIENT,
                                          links=[Link(root.get_span_context(), {"why": "retry"})]):
            pass
        with other.start_as_current_span("MGET", kind=SpanKind.CLIENT, attributes={"server.port": 6379}):
            pass
    return memory.get_finished_spans()


def test_json_encoding_decodes_to_the_sdk_protobuf_message():
    spans = _spans()
    decoded = _decode(encode_spans(spans))
    assert decoded == encode_protobuf(spans)
    assert len(decoded.resource_spans[0].scope_spans) == 2


def test_ids_are_hex_and_int64_are_strings_as_otlp_json_requires():
    spans = _spans()
    span = orjson.loads(encode_spans(spans))["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == f"{spans[0].context.trace_id:032x}"
    assert span["startTimeUnixNano"] == str(spans[0].start_time)
    assert span["kind"] == 3  # SPAN_KIND_CLIENT as an integer, not the enum name


def test_protocol_is_validated_by_name():
    assert TelemetryConfig.from_env({}).otlp_protocol == "http/json"
    assert TelemetryConfig.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}).otlp_protocol == "http/protobuf"
    with pytest.raises(TelemetryConfigError, match="OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        TelemetryConfig.from_env({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"})


def test_traces_endpoint_follows_the_otlp_exporter_rules():
    assert traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == "http://c:4318/v1/traces"
    assert traces_endpoint({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/x",
                            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://d"}) == "http://c/x"


def test_lean_spans_encode_to_the_sdk_protobuf_message():
    """The spans the API exports (LeanSpan: server span, client children, an error status, a remote
    parent, an unusual attribute value) take the bytes-format path; they must decode to the message the
    SDK's protobuf encoder builds from the same spans."""
    from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    from exporters.lean_tracer import LeanTracer

    memory = InMemorySpanExporter()
    processor = SynchronousMultiSpanProcessor()
    processor.add_span_processor(SimpleSpanProcessor(memory))
    tracer = LeanTracer(processor, Resource.create({"service.name": "island-api"}),
                        InstrumentationScope("island-rides", "2.0"), 1.0)
    remote = NonRecordingSpan(SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True,
                                          TraceFlags(TraceFlags.SAMPLED)))
    server = tracer.start_child(remote, 'GET /v1/vehicles/{vehicle_id} "quoted"', SpanKind.SERVER,
                                {"url.path": "/v1/vehicles/7", "server.port": 8000, "flag": False, "ratio": 0.5})
    server.set_attribute("island.tags", ["a", "b"])
    child = tracer.start_child(server, "GET", SpanKind.CLIENT, {"db.system.name": "redis", "db.namespace": "0"})
    child.set_status(Status(StatusCode.ERROR, "timeout"))
    child.end()
    tracer.start_span("root").end()
    server.end()
    spans = memory.get_finished_spans()
    decoded = _decode(encode_spans(spans))
    assert decoded == encode_protobuf(spans)
    names = [s.name for s in decoded.resource_spans[0].scope_spans[0].spans]
    assert names == ["GET", "root", 'GET /v1/vehicles/{vehicle_id} "quoted"']
