"""Traces: W3C traceparent in and out, the request's trace id in its log lines, and SQL, Redis and Stripe
spans as children of the request span."""
from __future__ import annotations

from opentelemetry.trace import SpanKind

from tests.telemetry.conftest import access_lines, one_request

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def _server_span(spans, trace_id: int):
    server = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER and s.context.trace_id == trace_id]
    assert len(server) == 1, [s.name for s in spans.get_finished_spans()]
    return server[0]


async def test_traceparent_gives_log_line_and_span_with_that_trace_id(client, spans, factory, log_dir):
    vehicle = await factory.vehicle()
    resp = await client.get(f"/v1/vehicles/{vehicle['id']}", headers={"traceparent": TRACEPARENT})
    assert resp.status_code == 200
    out = resp.headers["traceparent"].split("-")
    assert out[1] == TRACE_ID and int(out[3], 16) & 1 and out[2] != PARENT_ID

    server = _server_span(spans, int(TRACE_ID, 16))
    assert server.parent.span_id == int(PARENT_ID, 16)
    assert server.name == "GET /v1/vehicles/{vehicle_id}"
    assert server.attributes["http.route"] == "/v1/vehicles/{vehicle_id}"
    assert server.attributes["http.request.method"] == "GET"
    assert server.attributes["url.path"] == f"/v1/vehicles/{vehicle['id']}"
    assert server.attributes["http.response.status_code"] == 200
    assert format(server.context.span_id, "016x") == out[2]

    [line] = [a for a in access_lines(log_dir) if a["trace"]["id"] == TRACE_ID]
    assert line["span"]["id"] == out[2]
    assert line["http"]["response"]["status_code"] == 200
    assert line["url"]["path"] == f"/v1/vehicles/{vehicle['id']}"
    assert line["event"]["duration"] > 0


async def test_sql_and_redis_spans_are_children_of_the_request_span(client, spans, factory):
    vehicle = await factory.vehicle()
    resp = await client.get(f"/v1/vehicles/{vehicle['id']}", headers={"traceparent": TRACEPARENT})
    assert resp.status_code == 200
    server = _server_span(spans, int(TRACE_ID, 16))
    children = [s for s in spans.get_finished_spans() if s.parent and s.parent.span_id == server.context.span_id]
    sql = [s for s in children if s.attributes.get("db.system.name") == "postgresql"]
    redis = [s for s in children if s.attributes.get("db.system.name") == "redis"]
    assert any(s.name == "SELECT vehicles" for s in sql), [s.name for s in children]
    select = next(s for s in sql if s.name == "SELECT vehicles")
    assert select.kind == SpanKind.CLIENT
    assert select.attributes["db.operation.name"] == "SELECT"
    assert select.attributes["db.collection.name"] == "vehicles"
    assert "%s" in select.attributes["db.query.text"] or "$1" in select.attributes["db.query.text"]
    assert str(vehicle["id"]) not in select.attributes["db.query.text"].split()
    assert {s.attributes["db.operation.name"] for s in redis} & {"GET", "MGET"}  # the cache read
    assert all(s.kind == SpanKind.CLIENT and s.name == s.attributes["db.operation.name"] for s in redis)


async def test_unsampled_request_still_logs_a_trace_id(client, app, log_dir):
    from exporters import tracing

    tracing.configure_tracing("island-api", "test", 0.0)
    resp = await client.get("/v1/islands")
    assert resp.status_code == 200
    trace_id = resp.headers["traceparent"].split("-")[1]
    assert int(resp.headers["traceparent"].split("-")[3], 16) & 1 == 0  # the sampled flag is off
    [line] = [a for a in access_lines(log_dir) if a["url"]["path"] == "/v1/islands"]
    assert line["trace"]["id"] == trace_id and int(trace_id, 16) != 0


async def test_access_line_names_the_authenticated_user(client, factory, log_dir):
    renter = await factory.renter()
    resp = await client.get("/v1/bookings", headers={**renter.headers, "user-agent": "island-test/1.0"})
    assert resp.status_code == 200
    [line] = [a for a in access_lines(log_dir) if a["url"]["path"] == "/v1/bookings"]
    assert line["user"]["id"] == str(renter.id)
    assert line["user_agent"]["original"] == "island-test/1.0"
    assert line["client"]["ip"] == "127.0.0.1"
    assert line["http"]["request"]["method"] == "GET" and line["http"]["route"] == "/v1/bookings"
    assert line["http"]["request"]["id"] == resp.headers["x-request-id"]
    assert line["message"] == "GET /v1/bookings 200" and line["log.level"] == "info"


async def test_server_span_behind_a_unix_socket_has_no_port(spans):
    """The server span's attributes are adopted without a check: a (socket path, None) server must give
    server.address alone, not a None port."""
    import dataclasses

    from exporters.config import TelemetryConfig

    class Route:
        path_format = "/v1/islands"

    config = dataclasses.replace(TelemetryConfig.off(), traces=True, excluded_paths=frozenset())
    scope = {"type": "http", "method": "GET", "path": "/v1/islands", "server": ("/run/island.sock", None),
             "client": ("10.1.2.3", 5555), "scheme": "http", "http_version": "1.1", "query_string": b"q=1",
             "headers": [(b"traceparent", TRACEPARENT.encode()), (b"user-agent", b"probe/1")], "state": {}}
    await one_request(config, scope, Route, 200, b"[]")
    server = _server_span(spans, int(TRACE_ID, 16))
    assert dict(server.attributes) == {
        "http.request.method": "GET", "url.path": "/v1/islands", "url.scheme": "http",
        "network.protocol.version": "1.1", "url.query": "q=1", "server.address": "/run/island.sock",
        "client.address": "10.1.2.3", "user_agent.original": "probe/1", "http.route": "/v1/islands",
        "http.response.status_code": 200}
