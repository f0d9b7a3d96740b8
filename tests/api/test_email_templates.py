"""Booking e-mail rendering, SMTP_URL parsing and the retry schedule (pure functions)."""
import random

import aiosmtplib
import pytest

from api.email.outbox import backoff_delay
from api.email.smtp import SmtpConfigError, build_message, failure_outcome, parse_smtp_url
from api.email.templates import TemplateError, format_cents, format_date, render

BOOKING = {"booking_id": 42, "vehicle": "2021 Toyota RAV4", "island": "Exuma",
           "start_date": "2027-01-05", "end_date": "2027-01-09", "renter_name": "Ada"}


@pytest.mark.parametrize("cents,text", [(0, "$0.00"), (5, "$0.05"), (123456, "$1,234.56"), (-250, "-$2.50")])
def test_money_is_formatted_from_cents(cents, text):
    assert format_cents(cents) == text


def test_money_refuses_non_integers():
    with pytest.raises(TemplateError):
        format_cents(12.5)


def test_dates_are_human_readable_and_checked():
    assert format_date("2027-01-05") == "Tue 5 Jan 2027"
    with pytest.raises(TemplateError):
        format_date("5th of January")


def test_confirmed_mail_has_the_booking_details_in_text_and_html():
    mail = render("booking_confirmed", {**BOOKING, "total_cents": 51_520})
    assert mail.subject == "Your Island Rides booking #42 is confirmed"
    for part in (mail.text, mail.html):
        assert "2021 Toyota RAV4" in part and "Exuma" in part
        assert "Tue 5 Jan 2027" in part and "Sat 9 Jan 2027" in part
        assert "$515.20" in part
    assert "Subject:" not in mail.text


def test_cancelled_mail_shows_the_refund_and_who_cancelled():
    mail = render("booking_cancelled", {**BOOKING, "refund_cents": 2_500, "cancelled_by": "host"})
    assert "$25.00" in mail.text and "by the host" in mail.text and "$25.00" in mail.html
    no_refund = render("booking_cancelled", {**BOOKING, "refund_cents": 0})
    assert "No refund is due" in no_refund.text and "by the host" not in no_refund.text


def test_html_escapes_user_supplied_values():
    mail = render("booking_confirmed", {**BOOKING, "renter_name": "<script>x</script>", "total_cents": 1})
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html


def test_missing_context_and_unknown_template_are_template_errors():
    with pytest.raises(TemplateError, match="total_cents"):
        render("booking_confirmed", BOOKING)
    with pytest.raises(TemplateError):
        render("welcome", BOOKING)


def test_message_is_multipart_text_then_html():
    mail = render("booking_confirmed", {**BOOKING, "total_cents": 100})
    msg = build_message(sender="Island Rides <b@example.com>", to="ada@example.com", subject=mail.subject,
                        text=mail.text, html=mail.html)
    assert msg["Message-ID"].endswith("@example.com>")
    assert msg["To"] == "ada@example.com"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_smtp_url_forms():
    plain = parse_smtp_url("smtp://127.0.0.1:8025")
    assert (plain.hostname, plain.port, plain.use_tls, plain.start_tls) == ("127.0.0.1", 8025, False, None)
    implicit = parse_smtp_url("smtps://user%40x:p%2Fw@mail.example")
    assert (implicit.port, implicit.use_tls, implicit.username, implicit.password) == (465, True, "user@x", "p/w")
    assert parse_smtp_url("smtp://mx:587?starttls=required").start_tls is True
    with pytest.raises(SmtpConfigError, match="SMTP_URL"):
        parse_smtp_url("http://mx")
    with pytest.raises(SmtpConfigError, match="SMTP_URL"):
        parse_smtp_url("smtp://mx:notaport")


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    delays = [backoff_delay(n, base_s=10, cap_s=300, rng=rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        step = min(300, 10 * 2 ** (n - 1))
        assert step / 2 <= delay <= step
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not a fixed table
    assert max(delays) <= 300


@pytest.mark.parametrize("exc,outcome", [
    (TimeoutError(), "timeout"), (aiosmtplib.SMTPReadTimeoutError("slow"), "timeout"),
    (aiosmtplib.SMTPConnectError("refused"), "unavailable"), (ConnectionResetError(), "unavailable"),
    (aiosmtplib.SMTPRecipientRefused(550, "no such user", "x@example.com"), "rejected"),
    (aiosmtplib.SMTPDataError(554, "spam"), "rejected"), (RuntimeError("bug"), "error"),
])
def test_failed_sends_are_classified_for_the_outgoing_call_metric(exc, outcome):
    assert failure_outcome(exc) == outcome
