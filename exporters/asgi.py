"""One pure-ASGI middleware for the three signals of every HTTP request: RED metrics, a server span, and
one ECS access line.

Why our own and not opentelemetry-instrumentation-fastapi / BaseHTTPMiddleware: see the README's
telemetry section for the measured figures (benchmarks/telemetry.py). In short, the per-request work
here is a handful of dict lookups: the route template is read from ``scope["route"]`` that Starlette's
router leaves behind, label children are cached per (method, route, status), span attributes are only
built when the span is sampled, and no request/response object is created.
"""
from __future__ import annotations

import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from exporters import exposition, metrics, tracing
from exporters.config import TelemetryConfig
from exporters.logs.access import access_line
from exporters.logs.processors import error_type_name

UNMATCHED_ROUTE = "unmatched"  # http_route label of requests no route matched: a 404 flood adds no series
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
_MAX_CACHED_SERIES = 5000
_REFRESH_EVERY_S = 5.0

Scope = dict[str, Any]


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (``/vehicles/{vehicle_id}``), None when nothing matched."""
    route = scope.get("route")
    if route is None:
        return None
    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return None
    root_path = scope.get("root_path", "")
    return (root_path.rstrip("/") + path_format) if root_path else path_format


def state_value(scope: Scope, name: str) -> Any:
    """A value a handler left on ``request.state`` (the scope's "state"): ``user_id`` from the auth
    dependency, ``request_id`` from the API's edge middleware."""
    state = scope.get("state")
    if state is None:
        return None
    if isinstance(state, dict):
        return state.get(name)
    return getattr(state, name, None)


class _Series:
    """Label children of the HTTP metrics, cached per (method, route, status) so a request does no
    labels() lookup (prometheus_client's labels() validates and locks on each call)."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self._active: dict[str, Any] = {}

    def http(self, method: str, route: str, status: int) -> tuple[Any, Any, Any]:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = (metrics.http_server_request_duration.labels(*labels),
                        metrics.http_server_request_body_size.labels(*labels),
                        metrics.http_server_response_body_size.labels(*labels))
            if len(self._children) < _MAX_CACHED_SERIES:
                self._children[key] = children
        return children

    def active(self, method: str) -> Any:
        child = self._active.get(method)
        if child is None:
            child = self._active[method] = metrics.http_server_active_requests.labels(method)
        return child


class TelemetryMiddleware:
    """Pure ASGI middleware: metrics, server span and access log per HTTP request (others pass through)."""

    def __init__(self, app: Any, config: TelemetryConfig) -> None:
        self.app = app
        self.config = config
        self.excluded = config.excluded_paths
        self.series = _Series()
        self.exemplars = exposition.multiprocess_dir() is None  # kept by prometheus_client in one process only
        self._next_refresh = 0.0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.excluded:
            await self.app(scope, receive, send)
            return
        await _Request(self, scope).run(receive, send)

    def refresh_gauges(self, now: float) -> None:
        """Refresh pool gauges every few seconds from the request path, so that in multiprocess mode every
        worker's values are current whichever worker answers the scrape."""
        if now >= self._next_refresh:
            self._next_refresh = now + _REFRESH_EVERY_S
            exposition.run_scrape_hooks()


class _Request:
    """The telemetry state of one request (a plain object: cheaper than closures over many locals)."""

    __slots__ = (
        "method",
        "mw",
        "recording",
        "request_bytes",
        "response_bytes",
        "scope",
        "span",
        "status",
        "traceparent",
        "user_agent",
    )

    def __init__(self, mw: TelemetryMiddleware, scope: Scope) -> None:
        self.mw = mw
        self.scope = scope
        method = scope["method"]
        self.method = method if method in KNOWN_METHODS else "_OTHER"
        self.status = 500
        self.request_bytes = 0
        self.response_bytes = 0
        self.span: Any = None
        self.recording = False  # the span is sampled (recorded and exported)
        self.traceparent: bytes | None = None  # b"00-<trace id>-<span id>-<flags>", also the ids' hex source
        self.user_agent = ""

    async def run(self, receive: Any, send: Any) -> None:
        mw = self.mw
        start = time.perf_counter()
        carrier = self._read_headers()
        token = self._start_span(carrier) if mw.config.traces else None
        active = mw.series.active(self.method) if mw.config.metrics else None
        if active is not None:
            active.inc()
        error: BaseException | None = None

        async def counting_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.request_bytes += len(message.get("body", b""))
            return message

        async def observing_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                if self.traceparent is not None:
                    message["headers"] = [*message.get("headers", ()), (b"traceparent", self.traceparent)]
            elif message["type"] == "http.response.body":
                self.response_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await mw.app(self.scope, counting_receive, observing_send)
        except BaseException as exc:
            error = exc
            raise
        finally:
            duration = time.perf_counter() - start
            route = route_template(self.scope)
            if active is not None:
                active.dec()
                self._observe(route, duration)
                mw.refresh_gauges(start)
            if mw.config.logs:
                self._access_log(route, duration, error)
            if self.span is not None:
                self._end_span(route, error)
            if token is not None:
                otel_context.detach(token)

    def _read_headers(self) -> dict[str, str]:
        carrier: dict[str, str] = {}
        for name, value in self.scope["headers"]:
            if name == b"user-agent":
                self.user_agent = value.decode("latin-1")
            elif name == b"traceparent" or name == b"tracestate":
                carrier[name.decode("latin-1")] = value.decode("latin-1")
        return carrier

    def _start_span(self, carrier: dict[str, str]) -> Any:
        parent = tracing.propagator.extract(carrier) if carrier else None
        span = tracing.start_server_span(self.method, parent)
        if span is None:  # tracing is off
            return None
        self.span = span
        self.traceparent = tracing.traceparent_bytes(span.get_span_context())
        if span.is_recording():
            self.recording = True
            span.set_attributes(self._span_attributes())
        return otel_context.attach(trace.set_span_in_context(span, parent))

    def _span_attributes(self) -> dict[str, Any]:
        scope = self.scope
        attributes: dict[str, Any] = {
            "http.request.method": self.method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
        if self.method == "_OTHER":
            attributes["http.request.method_original"] = scope["method"]
        query = scope.get("query_string")
        if query:
            attributes["url.query"] = query.decode("latin-1")
        server = scope.get("server")
        if server:
            attributes["server.address"], attributes["server.port"] = server[0], server[1]
        client = scope.get("client")
        if client:
            attributes["client.address"] = client[0]
        if self.user_agent:
            attributes["user_agent.original"] = self.user_agent
        return attributes

    def _observe(self, route: str | None, duration: float) -> None:
        duration_h, request_h, response_h = self.mw.series.http(self.method, route or UNMATCHED_ROUTE,
                                                                self.status)
        if self.recording and self.mw.exemplars:
            duration_h.observe(duration, {"trace_id": tracing.hex_ids(self.traceparent)[0]})  # type: ignore[arg-type]
        else:
            duration_h.observe(duration)
        request_h.observe(self.request_bytes)
        response_h.observe(self.response_bytes)

    def _access_log(self, route: str | None, duration: float, error: BaseException | None) -> None:
        scope = self.scope
        client = scope.get("client")
        trace_id = span_id = None
        if self.traceparent is not None:
            trace_id, span_id = tracing.hex_ids(self.traceparent)
        # Positional: this runs once per request, and keyword passing of 14 arguments costs about a µs.
        access_line(scope["method"], scope["path"], self.status, duration, route, client[0] if client else None,
                    self.user_agent, state_value(scope, "user_id"), state_value(scope, "request_id"), trace_id,
                    span_id, self.request_bytes, self.response_bytes, error)

    def _end_span(self, route: str | None, error: BaseException | None) -> None:
        span = self.span
        if self.recording:
            if route is not None:
                span.update_name(f"{self.method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", self.status)
            if error is not None:
                span.set_attribute("error.type", error_type_name(type(error)))
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
            elif self.status >= 500:
                span.set_attribute("error.type", str(self.status))
                span.set_status(Status(StatusCode.ERROR))
        span.end()
