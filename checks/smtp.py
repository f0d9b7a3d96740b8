"""SMTP: banner, EHLO, optional STARTTLS (or implicit TLS), optional AUTH, NOOP, QUIT (aiosmtplib).

Every step is a separate deadline step, so a server that greets and then stalls fails with "timed out
during EHLO" rather than hanging. The target is ``smtp://[user:password@]host[:port]`` or ``host:port``;
credentials in the URL are used for AUTH. Observed value: the whole conversation in seconds.
"""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib
from pydantic import Field

from checks.base import CheckResult, Deadline, DeadlineExceeded, Status
from checks.certificates import TlsClientOptions, client_context, peer_not_after
from checks.guard import TargetError, guarded
from checks.targets import host_port

_DEFAULT_PORTS = {"none": 25, "starttls": 587, "implicit": 465}


class SmtpOptions(TlsClientOptions):
    """Options of the ``smtp`` check."""

    tls: Literal["none", "starttls", "implicit"] = Field(
        default="none", description="none, STARTTLS after EHLO (required then), or TLS from the first byte"
    )
    helo_name: str = Field(default="localhost", description="the name this client gives in EHLO")


Options = SmtpOptions  # the name every check module exposes


@guarded(aiosmtplib.SMTPException)
async def run(target: str, options: SmtpOptions, deadline: Deadline) -> CheckResult:
    """Talk to the SMTP server at ``target`` up to NOOP, each step within ``deadline``."""
    host, port = host_port(target, default_port=_DEFAULT_PORTS[options.tls])
    parts = urlsplit(target) if "://" in target else None
    started = time.monotonic()
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        timeout=deadline.remaining() + 1.0,
        use_tls=options.tls == "implicit",
        start_tls=False,
        tls_context=client_context(options),
        local_hostname=options.helo_name,
    )
    try:
        await deadline.run("connect", client.connect())
        await deadline.run("EHLO", client.ehlo())
        if options.tls == "starttls":
            if not client.supports_extension("starttls"):
                raise TargetError(f"EHLO: {host}:{port} does not offer STARTTLS")
            await deadline.run("STARTTLS", client.starttls(server_hostname=host))
            await deadline.run("EHLO after STARTTLS", client.ehlo())
        not_after = peer_not_after(client.get_transport_info("ssl_object")) if options.tls != "none" else None
        if parts is not None and parts.username:
            await deadline.run("AUTH", client.login(unquote(parts.username), unquote(parts.password or "")))
        await deadline.run("NOOP", client.noop())
        # The server has proved itself with NOOP; one that hangs up instead of answering QUIT is not down.
        with suppress(aiosmtplib.SMTPException, DeadlineExceeded, OSError):
            await deadline.run("QUIT", client.quit())
    finally:
        client.close()
    elapsed = time.monotonic() - started
    via = {"none": "", "starttls": " with STARTTLS", "implicit": " over TLS"}[options.tls]
    return CheckResult(
        Status.PASS,
        f"EHLO and NOOP{via} in {elapsed * 1000:.1f} ms",
        observed_value=elapsed,
        observed_unit="s",
        tls_not_after=not_after,
    )
