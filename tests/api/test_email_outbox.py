"""The e-mail outbox: an SMTP outage delays mail but never fails a booking; retries end in 'failed'."""
import asyncio
import email
import email.message
import uuid
from email import policy

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from api.email import outbox
from api.email.outbox import enqueue_email
from api.email.smtp import SmtpSender
from api.email.worker import OutboxConfig, OutboxWorker
from tests.api.booking_helpers import book, paid_booking
from tests.api.test_chat_ws import metric
from tests.support.services import smtp_catcher

FAST_RETRIES = {"email_poll_interval_s": 0.1, "email_backoff_base_s": 0.2, "email_backoff_cap_s": 0.5,
                "email_max_attempts": 3, "smtp_timeout_s": 3.0}


@pytest.fixture
def catcher():
    """A mail catcher of this test's own, so the test can take it down."""
    with smtp_catcher() as c:
        yield c


@pytest.fixture
def settings_overrides(catcher, localstripe_url):
    return {"smtp_url": catcher.url, "stripe_api_base": localstripe_url, **FAST_RETRIES}


def mails_to(catcher, address):
    return [email.message_from_bytes(e.original_content, policy=policy.default)
            for e in list(catcher.messages) if address in e.rcpt_tos]


async def outbox_rows(factory, booking_id):
    return await factory.sql("SELECT kind, status, attempts, last_error FROM email_outbox WHERE booking_id = %s",
                             (booking_id,))


async def eventually(check, timeout=15.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await check()):
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return result


async def test_booking_succeeds_during_an_smtp_outage_and_the_mail_follows(client, factory, catcher):
    renter, vehicle = await factory.renter(), await factory.vehicle(make="Jeep", model="Wrangler", year=2020)
    metrics_before = (await client.get("/metrics")).text
    catcher.stop()
    booking = await paid_booking(client, renter, vehicle)  # asserts 200 + confirmed despite the outage

    async def retried():
        rows = await outbox_rows(factory, booking["id"])
        return rows if rows and rows[0][2] >= 1 and rows[0][3] else None

    [(kind, status, _, error)] = await eventually(retried)
    assert (kind, status) == ("booking_confirmed", "pending") and "Connect" in error
    assert mails_to(catcher, renter.email) == []

    catcher.start()

    async def delivered():
        return mails_to(catcher, renter.email)

    [mail] = await eventually(delivered)
    assert mail["Subject"] == f"Your Island Rides booking #{booking['id']} is confirmed"
    text = mail.get_body(("plain",)).get_content()
    total = booking["price"]["total_cents"]
    assert "2020 Jeep Wrangler" in text and f"${total // 100:,}.{total % 100:02d}" in text
    assert mail.get_body(("html",)) is not None

    async def marked_sent():  # the worker marks the row after the SMTP server has accepted the mail
        rows = await outbox_rows(factory, booking["id"])
        return rows if rows[0][1] == "sent" else None

    await eventually(marked_sent)
    metrics_after = (await client.get("/metrics")).text
    for name, labels in (("island_email_sends_total", {"outcome": "retry"}),
                         ("island_email_sends_total", {"outcome": "sent"}),
                         ("island_outgoing_call_duration_seconds_count",
                          {"peer": "smtp", "operation": "send", "outcome": "unavailable"}),
                         ("island_outgoing_call_duration_seconds_count",
                          {"peer": "smtp", "operation": "send", "outcome": "success"})):
        assert metric(metrics_after, name, **labels) >= metric(metrics_before, name, **labels) + 1, (name, labels)


async def test_mail_is_marked_failed_after_max_attempts(client, factory, catcher):
    renter, vehicle = await factory.renter(), await factory.vehicle()
    catcher.stop()
    booking = await book(client, renter, vehicle)
    resp = await client.post(f"/v1/bookings/{booking['id']}/cancel", headers=renter.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"

    async def failed():
        rows = await outbox_rows(factory, booking["id"])
        return rows if rows and rows[0][1] == "failed" else None

    [(kind, _, attempts, error)] = await eventually(failed)
    assert kind == "booking_cancelled" and attempts == FAST_RETRIES["email_max_attempts"] and error
    catcher.start()
    await asyncio.sleep(0.5)  # a failed row is never picked up again
    assert mails_to(catcher, renter.email) == []


async def test_two_workers_never_send_the_same_row_twice(settings, catcher):
    """SKIP LOCKED claims: as with `--workers N`, concurrent workers split the rows between them."""
    tag = uuid.uuid4().hex[:8]
    addresses = [f"skip-{tag}-{i}@example.com" for i in range(20)]
    async with AsyncConnectionPool(settings.database_url, min_size=1, max_size=4, open=False) as pool:
        async with pool.connection() as conn, conn.transaction():
            for address in addresses:
                await enqueue_email(conn, template="booking_cancelled", to=address, context={
                    "booking_id": None, "vehicle": "2019 Kia Soul", "start_date": "2031-02-01",
                    "end_date": "2031-02-03", "refund_cents": 0})
        config = OutboxConfig(batch_size=3)
        workers = [OutboxWorker(pool, SmtpSender(catcher.url, timeout_s=3), config) for _ in range(2)]
        for _ in range(50):
            claimed = await asyncio.gather(*(w.run_once() for w in workers))
            if sum(claimed) == 0:
                break
    received = [rcpt for e in list(catcher.messages) for rcpt in e.rcpt_tos if tag in rcpt]
    assert sorted(received) == sorted(addresses)


async def test_a_wedged_mail_server_cannot_hold_the_sender():
    """A server that accepts the connection and never speaks: the send fails by its hard timeout."""
    held = []

    async def accept_and_say_nothing(reader, writer):
        held.append(writer)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        sender = SmtpSender(f"smtp://127.0.0.1:{port}", timeout_s=0.5)
        message = email.message.EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "hi"
        send = asyncio.create_task(sender.send(message))
        done, _ = await asyncio.wait({send}, timeout=5)  # a guard far above the 0.5 s limit
        assert send in done, "the send outlived its hard timeout"
        assert isinstance(send.exception(), TimeoutError)
        assert held  # it really connected: the timeout came from the silent conversation
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_old_sent_mail_is_purged_and_everything_else_kept(settings):
    tag = uuid.uuid4().hex[:8]
    async with await psycopg.AsyncConnection.connect(settings.database_url, autocommit=True) as conn:
        for status, age_days in (("sent", 40), ("sent", 1), ("failed", 40), ("pending", 40)):
            await conn.execute(
                "INSERT INTO email_outbox (kind, to_address, subject, body_text, status, sent_at, created_at)"
                " VALUES ('booking_cancelled', %s, 's', 't', %s, now() - make_interval(days => %s),"
                " now() - make_interval(days => %s))",
                (f"purge-{tag}-{status}-{age_days}@example.com", status, age_days, age_days))
        await outbox.purge_sent(conn, older_than_days=30)
        cur = await conn.execute("SELECT to_address FROM email_outbox WHERE to_address LIKE %s ORDER BY 1",
                                 (f"purge-{tag}-%",))
        left = [row[0].split("-", 2)[2] for row in await cur.fetchall()]
    assert left == ["failed-40@example.com", "pending-40@example.com", "sent-1@example.com"]
