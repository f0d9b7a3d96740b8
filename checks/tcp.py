"""TCP: connect (optionally TLS), optionally send a line and expect a reply matching a regex.

Observed value: connect (+ handshake) time in seconds. A server that accepts and never answers fails
at the deadline with "timed out during read", however the options are set.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from pydantic import Field

from checks.base import CheckResult, Deadline, DeadlineExceeded, RegexPattern, Status
from checks.certificates import TlsClientOptions, client_context, peer_not_after
from checks.guard import guarded
from checks.targets import host_port


class TcpOptions(TlsClientOptions):
    """Options of the ``tcp`` check; the target is ``host:port``."""

    tls: bool = Field(default=False, description="do a TLS handshake after connecting")
    server_name: str | None = Field(
        default=None, description="SNI and verified name (default: the target host)"
    )
    send: str | None = Field(default=None, description="text sent after connecting (\\n is not added)")
    expect: RegexPattern | None = Field(default=None, description="regex the server's reply must match")
    max_read_bytes: int = Field(default=65536, gt=0, description="give up matching after this much data")


Options = TcpOptions  # the name every check module exposes


@guarded()
async def run(target: str, options: TcpOptions, deadline: Deadline) -> CheckResult:
    """Connect to ``target``; with ``expect``, read until the reply matches, all within ``deadline``."""
    host, port = host_port(target)
    started = time.monotonic()
    reader, writer = await deadline.run("connect", asyncio.open_connection(host, port))
    try:
        not_after = None
        if options.tls:
            await deadline.run(
                "tls handshake",
                writer.start_tls(client_context(options), server_hostname=options.server_name or host),
            )
            not_after = peer_not_after(writer.get_extra_info("ssl_object"))
        connect_s = deadline.partial["connect_s"] = time.monotonic() - started
        if options.send is not None:
            writer.write(options.send.encode())
            await deadline.run("send", writer.drain())
        reply, timed_out = (
            await _read_until(reader, options, deadline) if options.expect is not None else ("", False)
        )
    finally:
        writer.transport.abort()  # no graceful close: a wedged peer must not hold the check
    fields: dict[str, Any] = {
        "observed_value": connect_s,
        "observed_unit": "s",
        "measurements": {"connect_s": connect_s},
        "tls_not_after": not_after,
    }
    if options.expect is not None and not re.search(options.expect, reply):
        waited = f" (waited {deadline.timeout_s:g}s for more)" if timed_out else ""
        return CheckResult(
            Status.FAIL, f"reply {reply[:80]!r} does not match /{options.expect}/{waited}", **fields
        )
    what = f"connected{' with TLS' if options.tls else ''} in {connect_s * 1000:.1f} ms"
    if options.expect is not None:
        what += f"; reply matches /{options.expect}/"
    return CheckResult(Status.PASS, what, **fields)


async def _read_until(
    reader: asyncio.StreamReader, options: TcpOptions, deadline: Deadline
) -> tuple[str, bool]:
    """What the server sent until it matches ``expect``, closes, or sends ``max_read_bytes``.

    The flag tells whether the deadline struck first; with nothing received at all that is a plain
    timeout (DeadlineExceeded), with a partial reply the reply is judged as it is.
    """
    pattern = re.compile(options.expect or "")
    received = b""
    try:
        async with deadline.step("read"):
            while len(received) < options.max_read_bytes:
                chunk = await reader.read(4096)
                if not chunk:
                    break
                received += chunk
                if pattern.search(received.decode("utf-8", errors="replace")):
                    break
    except DeadlineExceeded:
        if not received:
            raise
        return received.decode("utf-8", errors="replace"), True
    return received.decode("utf-8", errors="replace"), False
