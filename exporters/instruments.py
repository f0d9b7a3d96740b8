"""The application-level measurements the API reports, as plain functions.

``api/`` calls these at the points where something worth counting happens; how each one becomes a
Prometheus metric, a span event or nothing at all (``ISLAND_TELEMETRY=off``) is decided here, so the
API holds no metric plumbing of its own. Every function is cheap and never raises.

Low cardinality only: ``cache`` is a fixed cache name ("search", "vehicle"), ``operation`` a fixed
operation name ("payment_intent.create", "refund.create", ...), ``outcome`` a short fixed word
("success", "error", "declined", ...), ``tier`` one of anonymous|authenticated|premium.

Until ``enable()`` is called (by ``api.telemetry.install``) every function is a no-op, which is also what
``ISLAND_TELEMETRY=off`` leaves in place.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode

from exporters import metrics, tracing
from exporters.logs.processors import error_type_name

_metrics_on = False
_traces_on = False
# Label children by (metric, labels): prometheus_client's labels() validates and locks on every call. The
# label values are low-cardinality by contract; the cap only guards against a caller breaking it.
_children: dict[tuple[Any, tuple[str, ...]], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (metric, labels)
    child = _children.get(key)
    if child is None:
        child = metric.labels(*labels)
        if len(_children) < 2048:
            _children[key] = child
    return child


def enable(metrics_on: bool, traces_on: bool) -> None:
    """Switch the measurement points on (metrics and/or client spans) or back off."""
    global _metrics_on, _traces_on
    _metrics_on, _traces_on = metrics_on, traces_on


# cache_lookup runs on every cached request: its children are also kept by (cache, hit), so that a lookup
# builds no label tuple (a handful of entries: the caches are "search" and "vehicle").
_cache_children: dict[tuple[str, bool], Any] = {}


def cache_lookup(cache: str, hit: bool) -> None:
    """A cache-aside read: ``hit`` True when Redis had the value."""
    if _metrics_on:
        child = _cache_children.get((cache, hit))
        if child is None:
            child = _child(metrics.cache_requests, cache, "hit" if hit else "miss")
            if len(_cache_children) < 64:
                _cache_children[(cache, hit)] = child
        child.inc()


def redis_error(operation: str) -> None:
    """A Redis command failed (the API carried on without the cache / limiter)."""
    if _metrics_on:
        _child(metrics.redis_errors, operation).inc()


def rate_limited(tier: str) -> None:
    """A request was refused with 429 by the rate limiter of ``tier``."""
    if _metrics_on:
        _child(metrics.rate_limited_requests, tier).inc()


@contextmanager
def outgoing_call(peer: str, operation: str) -> Iterator[dict[str, str]]:
    """Wraps one call to an external service (``peer`` "stripe" or "smtp").

    Times it, opens a client span named after the operation and records the outcome. The caller may set
    ``outcome`` in the yielded dict (default "success", or "error" when the block raises).
    """
    result: dict[str, str] = {}
    span: Any = None
    if _traces_on:
        span = tracing.get_tracer().start_span(
            f"{peer} {operation}", kind=SpanKind.CLIENT,
            attributes={"peer.service": peer, "rpc.method": operation})
    start = time.perf_counter()
    try:
        if span is not None:
            with tracing.use_span(span):
                yield result
        else:
            yield result
    except BaseException as exc:
        result.setdefault("outcome", "error")
        if span is not None:
            span.set_attribute("error.type", error_type_name(type(exc)))
            span.set_status(Status(StatusCode.ERROR, str(exc)))
        raise
    finally:
        outcome = result.get("outcome", "success")
        if _metrics_on:
            _child(metrics.outgoing_call_duration, peer, operation, outcome).observe(time.perf_counter() - start)
        if span is not None:
            span.set_attribute("island.outcome", outcome)
            if outcome != "success" and "error.type" not in getattr(span, "attributes", {}):
                span.set_attribute("error.type", outcome)
            span.end()


def email_sent(outcome: str) -> None:
    """One outbox delivery attempt finished with ``outcome`` (sent | retry | failed)."""
    if _metrics_on:
        _child(metrics.email_sends, outcome).inc()


def outbox_depth(pending: int) -> None:
    """Number of e-mails waiting in the outbox, set after each outbox pass."""
    if _metrics_on:
        metrics.email_outbox_depth.set(pending)


def websocket_opened() -> None:
    """A chat WebSocket was accepted."""
    if _metrics_on:
        metrics.websocket_connections.inc()


def websocket_closed() -> None:
    """A chat WebSocket was closed (for any reason)."""
    if _metrics_on:
        metrics.websocket_connections.dec()


def websocket_message(direction: str) -> None:
    """A chat message went ``direction`` "in" (from a client) or "out" (to a client)."""
    if _metrics_on:
        _child(metrics.websocket_messages, direction).inc()


def booking_transition(from_status: str, to_status: str) -> None:
    """A booking moved between statuses ("new" as ``from_status`` for a created booking)."""
    if _metrics_on:
        _child(metrics.booking_transitions, from_status, to_status).inc()


def payment(outcome: str) -> None:
    """A payment finished with ``outcome`` (succeeded | failed | refunded)."""
    if _metrics_on:
        _child(metrics.payments, outcome).inc()


def booked_revenue(cents: int) -> None:
    """Revenue booked when a booking is confirmed, in cents."""
    if _metrics_on and cents > 0:
        metrics.booked_revenue.inc(cents)
