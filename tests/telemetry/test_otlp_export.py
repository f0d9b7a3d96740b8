"""The production trace path: ``island-api serve`` with OTEL_EXPORTER_OTLP_ENDPOINT exports its spans over
OTLP/HTTP (BatchSpanProcessor) to a collector, here a small HTTP server decoding the payload with the OTLP
protobuf classes: binary protobuf, or the OTLP JSON encoding (our default) read with protobuf's JSON parser
after the one OTLP-specific rule (hex trace/span ids instead of proto3 JSON's base64)."""
from __future__ import annotations

import base64
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TRACE_ID = "7d5e2f1a9c3b4d6e8f0a1b2c3d4e5f60"


def _ids_to_base64(document: dict[str, Any]) -> dict[str, Any]:
    """OTLP JSON carries ids as hex; protobuf's generic JSON mapping expects base64 for bytes fields."""
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return document


class _Collector(BaseHTTPRequestHandler):
    spans: ClassVar[list[Any]] = []
    resources: ClassVar[list[dict[str, Any]]] = []
    content_types: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.content_types.append(self.headers["content-type"])
        if self.headers["content-type"] == "application/json":
            request = json_format.ParseDict(_ids_to_base64(orjson.loads(body)), ExportTraceServiceRequest())
        else:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            self.resources.append({a.key: a.value.string_value for a in resource_spans.resource.attributes})
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("protocol", "content_type"), [(None, "application/json"),
                                                       ("http/protobuf", "application/x-protobuf")])
def test_spans_reach_an_otlp_collector(live_api, monkeypatch, protocol, content_type):
    _Collector.spans.clear()
    _Collector.resources.clear()
    _Collector.content_types.clear()
    if protocol is None:
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    else:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_address[1]}")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "1.0")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # ms: export soon after the request
    try:
        with live_api() as api:
            resp = httpx.get(f"{api.url}/v1/islands", headers={"traceparent": f"00-{TRACE_ID}-1111111111111111-01"})
            assert resp.status_code == 200
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not any(s.trace_id.hex() == TRACE_ID and s.kind == 2
                                                          for s in _Collector.spans):
                time.sleep(0.1)
    finally:
        collector.shutdown()
    ours = [s for s in _Collector.spans if s.trace_id.hex() == TRACE_ID]
    server = [s for s in ours if s.kind == 2]  # SPAN_KIND_SERVER
    assert len(server) == 1, [s.name for s in ours]
    assert server[0].name == "GET /v1/islands" and server[0].parent_span_id.hex() == "1111111111111111"
    assert any(s.name == "SELECT islands" and s.parent_span_id == server[0].span_id for s in ours)
    assert any(r.get("service.name") == "island-api" for r in _Collector.resources)
    assert set(_Collector.content_types) == {content_type}
