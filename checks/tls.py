"""TLS: handshake with a server and report how many days its certificate has left.

Observed value: days until the peer certificate's notAfter (negative once expired); ``tls_not_after`` is
that moment in Unix seconds. With verification on (the default), an expired, untrusted or misnamed
certificate fails the handshake and the check says why; with ``insecure`` the expiry is still judged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pydantic import Field, model_validator

from checks.base import CheckResult, Deadline, Status
from checks.certificates import TlsClientOptions, client_context, peer_not_after
from checks.guard import TargetError, guarded
from checks.targets import host_port


class TlsOptions(TlsClientOptions):
    """Options of the ``tls`` check; the target is ``host:port`` (port 443 if left out)."""

    server_name: str | None = Field(
        default=None, description="SNI and verified name (default: the target host)"
    )
    warn_days: float = Field(default=30.0, ge=0, description="warn when the certificate expires within this")
    fail_days: float = Field(default=7.0, ge=0, description="fail when the certificate expires within this")

    @model_validator(mode="after")
    def _fail_before_warn(self) -> TlsOptions:
        if self.fail_days > self.warn_days:
            raise ValueError(f"fail_days ({self.fail_days:g}) must not exceed warn_days ({self.warn_days:g})")
        return self


Options = TlsOptions  # the name every check module exposes


@guarded()
async def run(target: str, options: TlsOptions, deadline: Deadline) -> CheckResult:
    """Connect to ``target``, complete a TLS handshake within ``deadline`` and judge the expiry."""
    host, port = host_port(target, default_port=443)
    server_name = options.server_name or host
    _, writer = await deadline.run("connect", asyncio.open_connection(host, port))
    try:
        await deadline.run(
            "tls handshake", writer.start_tls(client_context(options), server_hostname=server_name)
        )
        ssl_object = writer.get_extra_info("ssl_object")
        not_after = peer_not_after(ssl_object)
        version = ssl_object.version() if ssl_object is not None else None
    finally:
        writer.transport.abort()
    if not_after is None:
        raise TargetError(f"{server_name}: the server sent no certificate")
    days = (not_after - time.time()) / 86400
    fields: dict[str, Any] = {
        "observed_value": round(days, 3),
        "observed_unit": "days",
        "tls_not_after": not_after,
        "measurements": {"days_left": days},
    }
    expiry = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(not_after))
    if days <= 0:
        return CheckResult(
            Status.FAIL, f"certificate of {server_name} expired {-days:.1f} days ago ({expiry})", **fields
        )
    text = f"certificate of {server_name} expires in {days:.1f} days ({expiry}), {version}"
    if days <= options.fail_days:
        return CheckResult(Status.FAIL, f"{text}; fail below {options.fail_days:g} days", **fields)
    if days <= options.warn_days:
        return CheckResult(Status.WARN, f"{text}; warn below {options.warn_days:g} days", **fields)
    return CheckResult(Status.PASS, text, **fields)
