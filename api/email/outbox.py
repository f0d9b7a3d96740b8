"""The email_outbox table: enqueue inside the caller's transaction, claim, and record each attempt.

Delivery is at-least-once. A worker *claims* due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and, in
the same statement, pushes their ``next_attempt_at`` forward by a lease and counts the attempt, then
commits before talking SMTP. So no transaction (and no row lock) stays open during a slow send, several
workers (``--workers N``) never pick the same row, and a row whose worker died mid-send becomes due
again when the lease runs out.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row, tuple_row

from api.email.templates import render

# Bounded so an error text (an SMTP server may answer with a long banner) never bloats the table.
MAX_ERROR_LENGTH = 500


async def enqueue_email(conn: AsyncConnection[Any], *, template: str, to: str, context: dict) -> None:
    """Queue one e-mail inside the caller's transaction (it is sent only if that transaction commits).

    ``template`` is one of ``api.email.templates.TEMPLATES`` (booking_confirmed, booking_cancelled; that
    module lists the context keys each one reads). The mail is rendered now, so a missing key fails the
    caller's request (TemplateError, a ValueError) instead of becoming a failed mail hours later.
    With a ``booking_id`` in ``context``, one booking gets each kind of mail at most once (a payment
    confirmed by both the pay endpoint and the webhook still sends one mail).
    """
    if not to or "@" not in to:
        raise ValueError(f"e-mail recipient {to!r} is not an address")
    rendered = render(template, context)
    booking_id = context.get("booking_id")
    await conn.execute(
        """
        INSERT INTO email_outbox (kind, to_address, subject, body_text, body_html, booking_id, dedupe_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (dedupe_key) DO NOTHING
        """,
        (template, to, rendered.subject, rendered.text, rendered.html, booking_id,
         f"{template}:{booking_id}" if booking_id is not None else None),
    )


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One claimed e-mail; ``attempts`` already counts the attempt about to be made."""

    id: int
    kind: str
    to_address: str
    subject: str
    body_text: str
    body_html: str | None
    attempts: int


async def claim_due(conn: AsyncConnection[Any], *, limit: int, lease_s: float) -> list[OutboxRow]:
    """Claim up to ``limit`` pending rows whose time has come, and commit the claim."""
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            """
            UPDATE email_outbox o
               SET attempts = o.attempts + 1,
                   next_attempt_at = now() + make_interval(secs => %(lease)s)
              FROM (SELECT id FROM email_outbox
                     WHERE status = 'pending' AND next_attempt_at <= now()
                     ORDER BY next_attempt_at, id
                     LIMIT %(limit)s
                     FOR UPDATE SKIP LOCKED) due
             WHERE o.id = due.id
         RETURNING o.id, o.kind, o.to_address, o.subject, o.body_text, o.body_html, o.attempts
            """,
            {"lease": lease_s, "limit": limit},
        )
        rows = await cur.fetchall()
    return [OutboxRow(**row) for row in rows]


async def mark_sent(conn: AsyncConnection[Any], row_id: int) -> None:
    """Record a successful delivery."""
    await conn.execute(
        "UPDATE email_outbox SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = %s", (row_id,)
    )


async def mark_retry(conn: AsyncConnection[Any], row_id: int, *, delay_s: float, error: str) -> None:
    """Record a failed attempt and schedule the next one ``delay_s`` from now."""
    await conn.execute(
        "UPDATE email_outbox SET next_attempt_at = now() + make_interval(secs => %s), last_error = %s"
        " WHERE id = %s",
        (delay_s, error[:MAX_ERROR_LENGTH], row_id),
    )


async def mark_failed(conn: AsyncConnection[Any], row_id: int, *, error: str) -> None:
    """Give up on a row: it stays in the table, status 'failed', with the last error."""
    await conn.execute(
        "UPDATE email_outbox SET status = 'failed', last_error = %s WHERE id = %s",
        (error[:MAX_ERROR_LENGTH], row_id),
    )


async def purge_sent(conn: AsyncConnection[Any], *, older_than_days: int) -> int:
    """Delete mail sent more than ``older_than_days`` ago (failed rows stay for inspection)."""
    cur = await conn.execute(
        "DELETE FROM email_outbox WHERE status = 'sent' AND sent_at < now() - make_interval(days => %s)",
        (older_than_days,),
    )
    return cur.rowcount


async def pending_count(conn: AsyncConnection[Any]) -> int:
    """Number of e-mails still waiting (due or scheduled for a retry)."""
    cur = conn.cursor(row_factory=tuple_row)  # whatever row factory the pool set
    await cur.execute("SELECT count(*) FROM email_outbox WHERE status = 'pending'")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential, capped, jittered.

    "Equal jitter": half of the exponential step is fixed, half random, so retries of many rows after
    one outage spread out but each row still backs off monotonically on average.
    """
    step = min(cap_s, base_s * (2 ** max(0, attempt - 1)))
    return step / 2 + (rng or random).uniform(0, step / 2)
