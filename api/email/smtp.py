"""Sending one rendered e-mail over SMTP with aiosmtplib, under a hard overall timeout.

``SMTP_URL`` forms: ``smtp://host:port`` (STARTTLS when the server offers it), ``smtp://host:port?starttls=
required`` (refuse to send in clear), ``smtps://host:port`` (implicit TLS), with optional
``user:password@`` credentials (percent-encoded).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from exporters import instruments


class SmtpConfigError(ValueError):
    """SMTP_URL cannot be used; the message names the problem."""


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    hostname: str
    port: int
    use_tls: bool
    start_tls: bool | None  # None: use it when offered
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse SMTP_URL; SmtpConfigError naming SMTP_URL when it is not usable."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpConfigError(f"SMTP_URL: scheme must be smtp or smtps, got {parts.scheme or 'none'!r}")
    try:
        port = parts.port
    except ValueError:
        raise SmtpConfigError("SMTP_URL: the port is not a number") from None
    if not parts.hostname:
        raise SmtpConfigError("SMTP_URL: no host")
    implicit = parts.scheme == "smtps"
    starttls = parse_qs(parts.query).get("starttls", [""])[0].lower()
    return SmtpTarget(
        hostname=parts.hostname,
        port=port or (465 if implicit else 25),
        use_tls=implicit,
        start_tls=False if implicit else (True if starttls in ("required", "true", "1") else None),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(*, sender: str, to: str, subject: str, text: str, html: str | None) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML (when given) as the preferred alternative."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def failure_outcome(exc: BaseException) -> str:
    """A low-cardinality outcome for a failed send: timeout | unavailable | rejected | error."""
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts subclass it too
        return "timeout"
    if isinstance(exc, (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused)):
        return "rejected"
    if isinstance(exc, OSError):  # refused, reset, DNS, server disconnected
        return "unavailable"
    return "error"


class SmtpSender:
    """Sends messages to one SMTP server; every send is bounded by ``timeout_s`` end to end."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self.target = parse_smtp_url(url)
        self.timeout_s = timeout_s

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message``; raises on any failure (connection refused, timeout, SMTP error)."""
        t = self.target
        with instruments.outgoing_call("smtp", "send") as call:
            try:
                # aiosmtplib's timeout applies per network operation; the outer one bounds the whole
                # conversation so a server that trickles bytes cannot hold the worker.
                async with asyncio.timeout(self.timeout_s):
                    await aiosmtplib.send(
                        message, hostname=t.hostname, port=t.port, use_tls=t.use_tls, start_tls=t.start_tls,
                        username=t.username, password=t.password, timeout=self.timeout_s,
                    )
            except Exception as exc:
                call["outcome"] = failure_outcome(exc)
                raise
