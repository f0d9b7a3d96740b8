"""HTTP RED metrics: the route label is the template, a 404 flood adds no series, probes are excluded,
exemplars carry the trace id in OpenMetrics, and promtool's lint is clean after traffic to every route."""
from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import uuid

import pytest
from prometheus_client import REGISTRY

from tests.telemetry.conftest import one_request

DURATION = "http_server_request_duration_seconds"


def _count(route: str, status: str, method: str = "GET") -> float:
    return REGISTRY.get_sample_value(f"{DURATION}_count", {
        "http_request_method": method, "http_route": route, "http_response_status_code": status}) or 0.0


def _series(metric: str = DURATION) -> set[tuple]:
    return {tuple(sorted(s.labels.items())) for fam in REGISTRY.collect() if fam.name == metric
            for s in fam.samples if s.name.endswith("_count")}


async def test_route_label_is_the_template(client, factory):
    vehicle = await factory.vehicle()
    before = _count("/v1/vehicles/{vehicle_id}", "200")
    for _ in range(3):
        assert (await client.get(f"/v1/vehicles/{vehicle['id']}")).status_code == 200
    assert _count("/v1/vehicles/{vehicle_id}", "200") == before + 3
    raw = f"/v1/vehicles/{vehicle['id']}"
    assert not any(dict(labels)["http_route"] == raw for labels in _series())


async def test_a_404_flood_adds_no_series(client):
    assert (await client.get("/no-such-page")).status_code == 404
    series_before, count_before = _series(), _count("unmatched", "404")
    for _ in range(50):
        assert (await client.get(f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}")).status_code == 404
    assert _series() == series_before
    assert _count("unmatched", "404") == count_before + 50


async def test_probes_and_metrics_are_not_measured(client):
    before = _series()
    for path in ("/livez", "/readyz", "/metrics"):
        await client.get(path)
    assert not any(dict(labels)["http_route"] in ("/livez", "/readyz", "/metrics") for labels in _series() - before)
    assert not any(dict(labels)["http_route"] in ("/livez", "/readyz", "/metrics") for labels in _series())


async def test_sizes_and_active_requests(client):
    resp = await client.post("/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
    size = len(resp.content)
    labels = {"http_request_method": "POST", "http_route": "/v1/auth/login",
              "http_response_status_code": str(resp.status_code)}
    assert REGISTRY.get_sample_value("http_server_response_body_size_bytes_sum", labels) >= size
    assert REGISTRY.get_sample_value("http_server_request_body_size_bytes_sum", labels) > 0
    assert REGISTRY.get_sample_value("http_server_active_requests", {"http_request_method": "POST"}) == 0


async def test_cache_hits_and_misses_are_counted_by_cache(client, factory):
    vehicle = await factory.vehicle()

    def count(result: str) -> float:
        value = REGISTRY.get_sample_value("island_cache_requests_total", {"cache": "vehicle", "result": result})
        return value or 0.0

    before = count("hit"), count("miss")
    url = f"/v1/vehicles/{vehicle['id']}"
    assert [(await client.get(url)).headers["x-cache"] for _ in range(3)] == ["MISS", "HIT", "HIT"]
    assert (count("hit") - before[0], count("miss") - before[1]) == (2, 1)
    scrape = (await client.get("/metrics")).text
    assert 'island_cache_requests_total{cache="vehicle",result="hit"}' in scrape


async def test_openmetrics_exemplars_carry_the_trace_id(client, spans):
    trace_id = "5b8aa5a2d2c872e8321cf37308d69df2"
    resp = await client.get("/v1/islands", headers={"traceparent": f"00-{trace_id}-051581bf3cb55c13-01"})
    assert resp.status_code == 200
    scrape = await client.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert scrape.headers["content-type"].startswith("application/openmetrics-text")
    assert re.search(r'http_server_request_duration_seconds_bucket\{[^}]*http_route="/v1/islands"[^}]*\} '
                     r'[\d.e+]+ # \{trace_id="' + trace_id + '"}', scrape.text), scrape.text[:2000]
    plain = await client.get("/metrics")
    assert plain.headers["content-type"].startswith("text/plain") and "# {" not in plain.text


async def test_promtool_lint_is_clean_after_traffic_to_every_route(client, factory, app):
    if shutil.which("promtool") is None:
        pytest.fail("promtool not installed: run make system-deps (Debian package prometheus)")
    renter = await factory.renter()
    paths = app.openapi()["paths"]
    assert len(paths) > 20
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        for method in operations:
            await client.request(method.upper(), path, headers=renter.headers,
                                 json={} if method in ("post", "put", "patch") else None)
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert 'http_route="/v1/vehicles/{vehicle_id}"' in scrape.text
    lint = await asyncio.to_thread(subprocess.run, ["promtool", "check", "metrics"], input=scrape.text,
                                   capture_output=True, text=True, check=False)
    assert lint.stdout + lint.stderr == "", lint.stdout + lint.stderr
    assert lint.returncode == 0


@pytest.mark.parametrize("headers, chunks, expected", [
    ([(b"content-length", b"11")], [b"hello world"], 11),  # the Content-Length; receive is not wrapped
    ([(b"transfer-encoding", b"chunked")], [b"hello ", b"world", b"!"], 12),  # counted as received
    ([(b"content-length", b"99"), (b"transfer-encoding", b"Chunked")], [b"abc"], 3),  # chunked wins
    ([], [], 0),
])
async def test_request_body_size_from_content_length_or_counted(headers, chunks, expected):
    """http.server.request.body.size: the Content-Length when the body has one (as OpenTelemetry's ASGI
    instrumentation reads it), the bytes received when it comes chunked."""
    import dataclasses

    from exporters.asgi import TelemetryMiddleware
    from exporters.config import TelemetryConfig

    route = f"/body-size-{uuid.uuid4().hex[:8]}"

    class Route:
        path_format = route

    async def app(scope, receive, send):
        scope["route"] = Route
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    messages = messages or [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        return messages.pop(0)

    async def send(message):
        pass

    config = dataclasses.replace(TelemetryConfig.off(), metrics=True, excluded_paths=frozenset())
    scope = {"type": "http", "method": "POST", "path": route, "headers": headers, "state": {}}
    await TelemetryMiddleware(app, config)(scope, receive, send)
    labels = {"http_request_method": "POST", "http_route": route, "http_response_status_code": "204"}
    assert REGISTRY.get_sample_value("http_server_request_body_size_bytes_sum", labels) == expected


@pytest.mark.parametrize("root_path, path_format, expected", [
    ("", "/v1/things/{thing_id}", "/v1/things/{thing_id}"),
    ("/api/", "/v1/things/{thing_id}", "/api/v1/things/{thing_id}"),  # mounted under a root path
    ("", None, "unmatched"),  # a route object without a template
    ("", 123, "unmatched"),  # nor a text one
    ("", "<no route>", "unmatched"),  # nothing matched at all
])
async def test_route_label_is_the_template_under_its_root_path(root_path, path_format, expected):
    """The middleware reads the template inline in the usual case (a Starlette route, no root path); every
    other case must label as ``route_template`` does."""
    import dataclasses

    from exporters.asgi import route_template
    from exporters.config import TelemetryConfig

    method, status = "PATCH", 200  # the count is compared before and after: other tests' series may exist

    class Route:
        pass

    if path_format != "<no route>":
        Route.path_format = path_format  # type: ignore[attr-defined]

    config = dataclasses.replace(TelemetryConfig.off(), metrics=True, excluded_paths=frozenset())
    scope = {"type": "http", "method": method, "path": "/v1/things/7", "root_path": root_path, "headers": [],
             "state": {}}
    labels = {"http_request_method": method, "http_route": expected, "http_response_status_code": str(status)}
    before = REGISTRY.get_sample_value("http_server_request_duration_seconds_count", labels) or 0
    await one_request(config, scope, None if path_format == "<no route>" else Route, status)
    assert REGISTRY.get_sample_value("http_server_request_duration_seconds_count", labels) == before + 1
    assert (route_template(scope) or "unmatched") == expected
