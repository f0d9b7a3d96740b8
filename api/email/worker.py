"""The outbox worker: a background task in the API lifespan that drains email_outbox over SMTP.

Each pass claims a small batch of due rows (``outbox.claim_due``), sends them concurrently, then records
every outcome: sent; retry later with exponential backoff and jitter; or failed for good after
``max_attempts`` (or at once when the row cannot become a message). A mail-server outage only delays mail:
nothing here ever touches a booking. With ``--workers N`` each process runs a worker; SKIP LOCKED keeps
them from sending the same row twice.
"""
from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.background import cancel_and_wait
from api.email import outbox
from api.email.smtp import build_message
from api.log_fields import error_fields
from exporters import instruments

log = structlog.get_logger("api.email")


class Sender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class OutboxConfig:
    """Tuning of the worker; defaults suit production, tests shrink the delays."""

    sender_address: str = "Island Rides <no-reply@islandrides.test>"  # MAIL_FROM
    poll_interval_s: float = 1.0
    batch_size: int = 10
    max_attempts: int = 8
    backoff_base_s: float = 10.0
    backoff_cap_s: float = 1800.0
    # Longer than one send can take (the sender's hard timeout), so a live worker never loses its claim.
    lease_s: float = 120.0
    # Sent mail is kept this long (support questions: "did the mail go out?"), then deleted hourly.
    keep_sent_days: int = 30
    purge_every_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class _Outcome:
    row: outbox.OutboxRow
    kind: str  # sent | retry | failed
    error: str = ""


class OutboxWorker:
    """Polls the outbox every ``poll_interval_s`` and sends what is due; ``start()``/``stop()`` in a lifespan."""

    def __init__(self, pool: AsyncConnectionPool, sender: Sender, config: OutboxConfig | None = None,
                 rng: random.Random | None = None) -> None:
        self.pool = pool
        self.sender = sender
        self.config = config or OutboxConfig()
        self.rng = rng or random.Random()
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="email-outbox-worker")

    def wake(self) -> None:
        """Run the next pass now instead of at the end of the poll interval."""
        self._wake.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        while True:
            try:
                while await self.run_once() == self.config.batch_size:
                    pass  # a full batch: more may be due right now
                if loop.time() >= next_purge:
                    next_purge = loop.time() + self.config.purge_every_s
                    async with self.pool.connection() as conn:
                        await outbox.purge_sent(conn, older_than_days=self.config.keep_sent_days)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database may be down: log, wait, try again
                log.warning("email outbox pass failed", **error_fields(exc))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.poll_interval_s):
                    await self._wake.wait()
            self._wake.clear()

    async def run_once(self) -> int:
        """One pass: claim, send, record. Returns the number of rows claimed."""
        async with self.pool.connection() as conn:
            rows = await outbox.claim_due(conn, limit=self.config.batch_size, lease_s=self.config.lease_s)
        outcomes = await asyncio.gather(*(self._attempt(row) for row in rows))
        async with self.pool.connection() as conn:
            async with conn.transaction():
                for outcome in outcomes:
                    await self._record(conn, outcome)
            instruments.outbox_depth(await outbox.pending_count(conn))
        return len(rows)

    async def _attempt(self, row: outbox.OutboxRow) -> _Outcome:
        try:
            message = build_message(sender=self.config.sender_address, to=row.to_address, subject=row.subject,
                                    text=row.body_text, html=row.body_html)
        except (ValueError, TypeError) as exc:  # e.g. an address the e-mail package refuses: never retry
            return _Outcome(row, "failed", f"message: {exc}")
        try:
            await self.sender.send(message)
        except Exception as exc:  # noqa: BLE001 - any SMTP / network / timeout failure is retried
            kind = "failed" if row.attempts >= self.config.max_attempts else "retry"
            return _Outcome(row, kind, f"{type(exc).__name__}: {exc}")
        return _Outcome(row, "sent")

    async def _record(self, conn: AsyncConnection[Any], outcome: _Outcome) -> None:
        row = outcome.row
        if outcome.kind == "sent":
            await outbox.mark_sent(conn, row.id)
        elif outcome.kind == "retry":
            delay = outbox.backoff_delay(row.attempts, base_s=self.config.backoff_base_s,
                                         cap_s=self.config.backoff_cap_s, rng=self.rng)
            await outbox.mark_retry(conn, row.id, delay_s=delay, error=outcome.error)
            log.info("email delivery failed, will retry", outbox_id=row.id, template=row.kind,
                     attempt=row.attempts, retry_in_s=round(delay, 1), **{"error.message": outcome.error})
        else:
            await outbox.mark_failed(conn, row.id, error=outcome.error)
            log.error("email delivery failed for good", outbox_id=row.id, template=row.kind,
                      attempts=row.attempts, **{"error.message": outcome.error})
        instruments.email_sent(outcome.kind)
