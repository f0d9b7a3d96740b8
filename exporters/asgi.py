"""One pure-ASGI middleware for the three signals of every HTTP request: RED metrics, a server span, and
one ECS access line.

Why our own and not opentelemetry-instrumentation-fastapi / BaseHTTPMiddleware: see the README's
telemetry section for the measured figures (benchmarks/telemetry.py). In short, the per-request work
here is a handful of dict lookups: the route template is read from ``scope["route"]`` that Starlette's
router leaves behind, label children are cached per (method, route, status), span attributes are only
built when the span is sampled, and no request/response object is created.
"""
from __future__ import annotations

from time import perf_counter
from typing import Any

from opentelemetry.trace import Status, StatusCode

from exporters import exposition, metrics, tracing
from exporters.config import TelemetryConfig
from exporters.fast_metrics import FastHistogram, observe_three
from exporters.lean_tracer import LeanSpan
from exporters.logs.access import access_line
from exporters.logs.processors import error_type_name

UNMATCHED_ROUTE = "unmatched"  # http_route label of requests no route matched: a 404 flood adds no series
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
_MAX_CACHED_SERIES = 5000
_NO_SPAN = (None, None, None)  # tracing.begin_request's answer when tracing is off
_REFRESH_EVERY_S = 5.0

Scope = dict[str, Any]


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (``/vehicles/{vehicle_id}``), None when nothing matched."""
    path_format = getattr(scope.get("route"), "path_format", None)  # no route: getattr(None, ...) is None
    if not isinstance(path_format, str):
        return None
    root_path = scope.get("root_path")
    return (root_path.rstrip("/") + path_format) if root_path else path_format


class _Series:
    """Label children of the HTTP metrics, cached per (method, route, status) so a request does no
    labels() lookup (prometheus_client's labels() validates and locks on each call)."""

    def __init__(self) -> None:
        # Read directly on the request path (a dict lookup, no method call); the methods fill them.
        self.children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self.actives: dict[str, Any] = {}

    def http(self, method: str, route: str, status: int) -> tuple[Any, Any, Any]:
        key = (method, route, status)
        children = self.children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = (metrics.http_server_request_duration.labels(*labels),
                        metrics.http_server_request_body_size.labels(*labels),
                        metrics.http_server_response_body_size.labels(*labels))
            if len(self.children) < _MAX_CACHED_SERIES:
                self.children[key] = children
        return children

    def active(self, method: str) -> Any:
        child = self.actives.get(method)
        if child is None:
            child = self.actives[method] = metrics.http_server_active_requests.labels(method)
        return child


class TelemetryMiddleware:
    """Pure ASGI middleware: metrics, server span and access log per HTTP request (others pass through).

    The per-request work is one coroutine with plain locals and one plain closure for ``send`` (an earlier
    version kept the request's state on a ``_Request`` object with methods, and ``send`` was a coroutine
    function); the parts that run for few requests (sampled spans, errors) stay in functions below. With
    every part off, the middleware adds 17.3k instructions a request to a bare app, against 23.0k with the
    request object and 19.6k with the coroutine ``send`` (``benchmarks.middleware_instructions``).
    """

    def __init__(self, app: Any, config: TelemetryConfig) -> None:
        self.app = app
        self.config = config
        self.excluded = config.excluded_paths
        self.metrics, self.traces, self.logs = config.metrics, config.traces, config.logs
        self.series = _Series()
        self.exemplars = exposition.multiprocess_dir() is None  # kept by prometheus_client in one process only
        # fast_metrics' histograms (one process): their three observations a request go in one call
        self.fast_store = isinstance(metrics.http_server_request_duration, FastHistogram)
        self._next_refresh = 0.0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.excluded:
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        method = scope["method"]
        if method not in KNOWN_METHODS:
            method = "_OTHER"
        # One dict built in C, then five lookups: 7.2k instructions for a browser's seven headers against
        # 8.3k for a Python loop over them (callgrind), and less the fewer headers there are.
        headers = dict(scope["headers"])
        user_agent = headers.get(b"user-agent", b"").decode("latin-1")
        length = headers.get(b"content-length")
        request_bytes = int(length) if length is not None and length.isdigit() else 0
        encoding = headers.get(b"transfer-encoding")
        chunked = encoding is not None and b"chunked" in encoding.lower()
        carrier: dict[str, str] | None = None
        traceparent_in = headers.get(b"traceparent")
        if traceparent_in is not None:
            carrier = {"traceparent": traceparent_in.decode("latin-1")}
            tracestate = headers.get(b"tracestate")
            if tracestate is not None:
                carrier["tracestate"] = tracestate.decode("latin-1")
        # span: the server span when it is sampled (recorded and exported), else None; traceparent:
        # b"00-<trace id>-<span id>-<flags>", the response header and the log lines' ids.
        span, traceparent, token = tracing.begin_request(method, carrier) if self.traces else _NO_SPAN
        if span is not None:
            attributes = _span_attributes(scope, method, user_agent)
            if type(span) is LeanSpan:  # always, as tracing is configured: our own dict needs no check
                span.adopt_attributes(attributes)
            else:
                span.set_attributes(attributes)
        series = self.series
        active = (series.actives.get(method) or series.active(method)) if self.metrics else None
        if active is not None:
            active.inc()
        status = 500
        response_bytes = 0

        # A plain function that returns the server's ``send`` awaitable, not a coroutine function: the
        # app awaits what it returns all the same, and no coroutine of ours is created and run for each
        # message (two or more a request).
        def observing_send(message: Any) -> Any:
            nonlocal status, response_bytes
            kind = message["type"]
            if kind == "http.response.body":
                response_bytes += len(message.get("body", b""))
            elif kind == "http.response.start":
                status = message["status"]
                if traceparent is not None:
                    message["headers"] = [*message.get("headers", ()), (b"traceparent", traceparent)]
            return send(message)

        if chunked:
            request_bytes = 0  # a Content-Length beside chunked encoding does not count (RFC 9112 6.3)

            async def counting_receive() -> Any:
                nonlocal request_bytes
                message = await receive()
                if message["type"] == "http.request":
                    request_bytes += len(message.get("body", b""))
                return message

            receive_ = counting_receive
        else:
            receive_ = receive  # one coroutine less per message: the body size is the Content-Length
        error: BaseException | None = None
        try:
            await self.app(scope, receive_, observing_send)
        except BaseException as exc:
            error = exc
            raise
        finally:
            duration = perf_counter() - start
            route = route_template(scope)
            if active is not None:
                active.dec()
                key = (method, route or UNMATCHED_ROUTE, status)
                duration_h, request_h, response_h = series.children.get(key) or series.http(*key)
                with_exemplar = span is not None and self.exemplars
                if self.fast_store and not with_exemplar:
                    observe_three(duration_h, duration, request_h, request_bytes, response_h, response_bytes)
                else:
                    duration_h.observe(duration, {"trace_id": tracing.hex_ids(traceparent)[0]}  # type: ignore[arg-type]
                                       if with_exemplar else None)
                    request_h.observe(request_bytes)
                    response_h.observe(response_bytes)
                if start >= self._next_refresh:
                    self.refresh_gauges(start)
            if self.logs:
                client = scope.get("client")
                state = scope.get("state")
                if state is None:
                    user_id = request_id = None
                elif isinstance(state, dict):
                    user_id, request_id = state.get("user_id"), state.get("request_id")
                else:
                    user_id, request_id = getattr(state, "user_id", None), getattr(state, "request_id", None)
                # Positional: this runs once per request, and keyword passing of 13 arguments costs a µs.
                access_line(scope["method"], scope["path"], status, duration, route,
                            client[0] if client else None, user_agent, user_id, request_id, traceparent,
                            request_bytes, response_bytes, error)
            if span is not None:
                _end_span(span, method, route, status, error)
            if token is not None:
                tracing.detach(token)

    def refresh_gauges(self, now: float) -> None:
        """Refresh pool gauges every few seconds from the request path, so that in multiprocess mode every
        worker's values are current whichever worker answers the scrape."""
        if now >= self._next_refresh:
            self._next_refresh = now + _REFRESH_EVERY_S
            exposition.run_scrape_hooks()


def _span_attributes(scope: Scope, method: str, user_agent: str) -> dict[str, Any]:
    """The request attributes of a sampled server span (stable HTTP semantic conventions): str and int
    values only, and no None (the span adopts the dict without checking it)."""
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if method == "_OTHER":
        attributes["http.request.method_original"] = scope["method"]
    query = scope.get("query_string")
    if query:
        attributes["url.query"] = query.decode("latin-1")
    server = scope.get("server")
    if server:  # (host, port), or (socket path, None) behind a Unix socket
        if type(server[0]) is str:
            attributes["server.address"] = server[0]
        if type(server[1]) is int:
            attributes["server.port"] = server[1]
    client = scope.get("client")
    if client and type(client[0]) is str:
        attributes["client.address"] = client[0]
    if user_agent:
        attributes["user_agent.original"] = user_agent
    return attributes


def _end_span(span: Any, method: str, route: str | None, status: int, error: BaseException | None) -> None:
    """Name the sampled server span after its route, add the response attributes and end it."""
    if route is not None:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if error is not None:
        span.set_attribute("error.type", error_type_name(type(error)))
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, str(error)))
    elif status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))
    span.end()
