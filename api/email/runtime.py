"""Lifespan wiring of the e-mail outbox worker (``app.state.email_worker``)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.email.smtp import SmtpSender
from api.email.worker import OutboxConfig, OutboxWorker


@asynccontextmanager
async def outbox_runtime(app: FastAPI) -> AsyncIterator[OutboxWorker]:
    """Run an outbox worker against SMTP_URL for the life of the app."""
    s = app.state.settings
    config = OutboxConfig(
        sender_address=s.mail_from, poll_interval_s=s.email_poll_interval_s, max_attempts=s.email_max_attempts,
        backoff_base_s=s.email_backoff_base_s, backoff_cap_s=s.email_backoff_cap_s,
        lease_s=max(60.0, 4 * s.smtp_timeout_s),
    )
    worker = OutboxWorker(app.state.pool, SmtpSender(s.smtp_url, timeout_s=s.smtp_timeout_s), config)
    app.state.email_worker = worker
    worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
