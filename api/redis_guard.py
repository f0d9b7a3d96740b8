"""Keeping the API up while Redis is down: a short circuit breaker and a rate-limited log line.

Cache and rate limiter both call ``guard_for(redis)``: after a failure, Redis is skipped for
``OPEN_S`` seconds (so an unreachable server costs one timeout per period, not one per request), and the
outage is logged at most once per ``LOG_EVERY_S`` per operation with the number of failures in between.
Every failure is still counted through ``exporters.instruments.redis_error``.
"""
from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from exporters import instruments

log = logging.getLogger("api.redis")
OPEN_S = 2.0
LOG_EVERY_S = 30.0


class RedisGuard:
    """Per-client breaker state; ``available()`` is False while the breaker is open."""

    def __init__(self) -> None:
        self._open_until = 0.0
        self._last_log: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def failed(self, operation: str, exc: BaseException) -> None:
        """Record a failed Redis call: open the breaker, count it, log if not logged recently."""
        now = time.monotonic()
        self._open_until = now + OPEN_S
        instruments.redis_error(operation)
        if now - self._last_log.get(operation, -LOG_EVERY_S) >= LOG_EVERY_S:
            suppressed = self._suppressed.pop(operation, 0)
            log.warning("redis unavailable during %s, serving without it: %s: %s (%d similar errors not logged)",
                        operation, type(exc).__name__, exc, suppressed,
                        extra={"redis_operation": operation})
            self._last_log[operation] = now
        else:
            self._suppressed[operation] = self._suppressed.get(operation, 0) + 1

    def succeeded(self) -> None:
        self._open_until = 0.0


_guards: weakref.WeakKeyDictionary[Any, RedisGuard] = weakref.WeakKeyDictionary()


def guard_for(client: Any) -> RedisGuard:
    """The guard of one Redis client (created on first use; lives as long as the client)."""
    guard = _guards.get(client)
    if guard is None:
        guard = _guards[client] = RedisGuard()
    return guard
