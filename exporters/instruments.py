"""The application-level measurements the API reports, as plain functions.

``api/`` calls these at the points where something worth counting happens; how each one becomes a
Prometheus metric, a span event or nothing at all (``ISLAND_TELEMETRY=off``) is decided here, so the
API holds no metric plumbing of its own. Every function is cheap and never raises.

Low cardinality only: ``cache`` is a fixed cache name ("search", "vehicle"), ``operation`` a fixed
operation name ("payment_intent.create", "refund.create", ...), ``outcome`` a short fixed word
("success", "error", "declined", ...), ``tier`` one of anonymous|authenticated|premium.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


def cache_lookup(cache: str, hit: bool) -> None:
    """A cache-aside read: ``hit`` True when Redis had the value."""


def redis_error(operation: str) -> None:
    """A Redis command failed (the API carried on without the cache / limiter)."""


def rate_limited(tier: str) -> None:
    """A request was refused with 429 by the rate limiter of ``tier``."""


@contextmanager
def outgoing_call(peer: str, operation: str) -> Iterator[dict[str, str]]:
    """Wraps one call to an external service (``peer`` "stripe" or "smtp").

    Times it, opens a client span named after the operation and records the outcome. The caller may set
    ``outcome`` in the yielded dict (default "success", or "error" when the block raises).
    """
    yield {}


def email_sent(outcome: str) -> None:
    """One outbox delivery attempt finished with ``outcome`` (sent | retry | failed)."""


def outbox_depth(pending: int) -> None:
    """Number of e-mails waiting in the outbox, set after each outbox pass."""


def websocket_opened() -> None:
    """A chat WebSocket was accepted."""


def websocket_closed() -> None:
    """A chat WebSocket was closed (for any reason)."""


def websocket_message(direction: str) -> None:
    """A chat message went ``direction`` "in" (from a client) or "out" (to a client)."""


def booking_transition(from_status: str, to_status: str) -> None:
    """A booking moved between statuses ("new" as ``from_status`` for a created booking)."""


def payment(outcome: str) -> None:
    """A payment finished with ``outcome`` (succeeded | failed | refunded)."""


def booked_revenue(cents: int) -> None:
    """Revenue booked when a booking is confirmed, in cents."""
