"""Whether the schema is current, checked once at start and cached (``/readyz`` sends no query per request).

A failed check (database not reachable at start, or migrations pending) is retried at most once every
``RETRY_S`` seconds when /readyz is asked, so a pod becomes ready after ``island-api migrate`` ran.
"""
from __future__ import annotations

import logging
import time

import anyio

from api.migrate import pending_migrations

log = logging.getLogger("api.readiness")
RETRY_S = 10.0


class Readiness:
    """Caches the outcome of the migrations check."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._applied = False
        self._checked_at: float | None = None
        self._lock = anyio.Lock()

    async def check(self) -> bool:
        """Run the check now (in a thread: yoyo is synchronous)."""
        self._checked_at = time.monotonic()
        try:
            pending = await anyio.to_thread.run_sync(pending_migrations, self.database_url)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", logged once per check
            log.warning("migrations check failed: %s", exc)
            return False
        if pending:
            log.warning("migrations pending: %s (run `island-api migrate`)", ", ".join(pending))
        self._applied = not pending
        return self._applied

    async def migrations_applied(self) -> bool:
        """The cached result; re-checked only while not applied, at most every RETRY_S seconds."""
        if self._applied:
            return True
        async with self._lock:
            if self._applied or (self._checked_at and time.monotonic() - self._checked_at < RETRY_S):
                return self._applied
            return await self.check()
