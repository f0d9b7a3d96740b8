"""The agent's HTTP endpoints (Starlette), all answered from memory.

``/health`` and ``/health/{group}`` (IETF health+json), ``/livez`` (the scheduler ticks), ``/readyz``
(critical checks, Kubernetes-style), ``/metrics`` (Prometheus), ``/status`` (HTML) and ``/status.json``.
Details (outputs, observed values) need ``Authorization: Bearer $AGENT_HEALTH_TOKEN``.
"""
from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from agent.core import HealthAgent
from agent.health import HEALTH_MEDIA_TYPE, health_document, readyz_text
from agent.status_page import STATUS_HTML, status_document
from exporters.probe_metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

NO_STORE = {"Cache-Control": "no-store"}
# A rendered /health body is reused until a new result arrives, a check can turn stale, or this many seconds
# pass. Rendering per request cost ~40% of the throughput of a constant endpoint (benchmarks/agent_health.py:
# 0.57x before, see the README for after); the answer is the same either way, since only results and the
# stale rule change it.
RENDER_MAX_AGE_S = 1.0


class RenderCache:
    """Rendered answers keyed by (endpoint, scope, details), valid while the agent's state is unchanged."""

    def __init__(self, agent: HealthAgent) -> None:
        self.agent = agent
        self._entries: dict[tuple[Any, ...], tuple[int, float, int, bytes]] = {}

    def get(self, key: tuple[Any, ...], render: Callable[[float], tuple[int, bytes]]) -> tuple[int, bytes]:
        """The cached (status, body) for ``key``, or ``render(now)``'s, cached."""
        now = time.time()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == self.agent.version and now < entry[1]:
            return entry[2], entry[3]
        version = self.agent.version
        code, body = render(now)
        valid_until = min(now + RENDER_MAX_AGE_S, self.agent.next_stale_at())
        self._entries[key] = (version, valid_until, code, body)
        return code, body


def is_authorized(request: Request, agent: HealthAgent) -> bool:
    """True when the request carries the configured bearer token (compared in constant time)."""
    token = agent.config.server.health_token
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if token is None or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.get_secret_value().encode())


class _ShipperMetrics:
    """The log shipper's metrics (``island_shipper_*``, kept in prometheus_client's default registry by
    exporters/elasticsearch/metrics.py), so the agent's /metrics carries them beside its probes."""

    def collect(self) -> Any:
        return (family for family in REGISTRY.collect() if family.name.startswith("island_shipper_"))


def _json(body: Any, status: int = 200, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=NO_STORE)


def _problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return _json(body, status, "application/problem+json")


def build_app(agent: HealthAgent) -> Starlette:
    """The Starlette app serving ``agent``'s state; starting/stopping the agent is the caller's job."""
    cache = RenderCache(agent)

    async def health(request: Request) -> Response:
        group = request.path_params.get("group")
        if group is not None and group not in agent.groups():
            known = ", ".join(sorted(agent.groups())) or "none configured"
            return _problem(404, "Not Found", f"unknown health group {group!r}; known groups: {known}",
                            groups=sorted(agent.groups()))
        details = is_authorized(request, agent)

        def render(now: float) -> tuple[int, bytes]:
            views = list(agent.views(now).values())
            if group is not None:
                views = [v for v in views if group in agent.specs[v.name].config.groups]
            code, body = health_document(views, agent.specs, details, now)
            return code, orjson.dumps(body)

        code, body = cache.get(("health", group, details), render)
        return Response(body, status_code=code, media_type=HEALTH_MEDIA_TYPE, headers=NO_STORE)

    async def livez(request: Request) -> Response:
        alive, reason = agent.liveness()
        return PlainTextResponse("ok" if alive else f"not alive: {reason}", 200 if alive else 503, headers=NO_STORE)

    async def readyz(request: Request) -> Response:
        verbose = "verbose" in request.query_params
        exclude = request.query_params.getlist("exclude")
        code, text = readyz_text(agent.views().values(), agent.specs, exclude, verbose,
                                 is_authorized(request, agent))
        return PlainTextResponse(text, code, headers=NO_STORE)

    async def metrics(request: Request) -> Response:
        body = agent.metrics.render() + generate_latest(_ShipperMetrics())  # type: ignore[arg-type]
        return Response(body, media_type=METRICS_CONTENT_TYPE, headers=NO_STORE)

    async def status_page(request: Request) -> Response:
        return HTMLResponse(STATUS_HTML, headers=NO_STORE)

    async def status_json(request: Request) -> Response:
        show_output = agent.config.status_page.show_output or is_authorized(request, agent)
        return _json(status_document(agent, show_output))

    async def root(request: Request) -> Response:
        return RedirectResponse("/status")

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/health/{group}", health, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/status", status_page, methods=["GET"]),
        Route("/status.json", status_json, methods=["GET"]),
        Route("/", root, methods=["GET"]),
    ]
    return Starlette(routes=routes)
