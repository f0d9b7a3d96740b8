"""DNS: resolve a name (dnspython's async resolver) and compare the answers with the expected ones.

The target is the name to resolve. Without ``nameserver`` the system's resolv.conf is used. Observed
value: the lookup time in seconds; ``answers`` counts the records in the answer.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any, Literal

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver
from pydantic import Field, field_validator

from checks import base
from checks.base import CheckResult, Deadline, Status
from checks.guard import TargetError, guarded


class DnsOptions(base.Options):
    """Options of the ``dns`` check."""

    record_type: str = Field(default="A", description="A, AAAA, CNAME, MX, TXT, SRV, NS, ...")
    nameserver: str | None = Field(
        default=None, description="IP address of the server to ask (default: system)"
    )
    port: int = Field(default=53, ge=1, le=65535, description="port of the nameserver")
    transport: Literal["udp", "tcp"] = Field(default="udp", description="ask over UDP or TCP")
    expected: list[str] = Field(
        default_factory=list, description="answers that must all be present (in zone-file text form)"
    )
    exact: bool = Field(default=False, description="the answers must be exactly the expected ones")

    @field_validator("nameserver")
    @classmethod
    def _ip_address(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address (a resolver is asked by address)") from None
        return value

    @field_validator("record_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        try:
            dns.rdatatype.from_text(value.upper())
        except dns.rdatatype.UnknownRdatatype:
            raise ValueError(f"unknown DNS record type {value!r}") from None
        return value.upper()


Options = DnsOptions  # the name every check module exposes


def _resolver(options: DnsOptions, deadline: Deadline) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=options.nameserver is None)
    if options.nameserver is not None:
        resolver.nameservers = [options.nameserver]
        resolver.port = options.port
    resolver.lifetime = max(deadline.remaining(), 0.001)
    resolver.timeout = resolver.lifetime
    resolver.cache = None
    return resolver


@guarded(dns.exception.DNSException)
async def run(target: str, options: DnsOptions, deadline: Deadline) -> CheckResult:
    """Resolve ``target`` as ``record_type`` within ``deadline`` and check the expected answers."""
    name = target.strip()
    if not name:
        raise TargetError("target is empty: expected a DNS name")
    started = time.monotonic()
    try:
        answer = await deadline.run(
            "query",
            _resolver(options, deadline).resolve(
                name, options.record_type, tcp=options.transport == "tcp", raise_on_no_answer=True
            ),
        )
    except dns.resolver.NXDOMAIN:
        return CheckResult(Status.FAIL, f"{name} does not exist (NXDOMAIN)")
    except dns.resolver.NoAnswer:
        return CheckResult(Status.FAIL, f"{name} has no {options.record_type} record")
    except dns.resolver.LifetimeTimeout:
        return CheckResult(Status.FAIL, f"timed out during query after {deadline.timeout_s:g}s")
    except dns.resolver.NoNameservers as exc:
        return CheckResult(Status.FAIL, f"no nameserver answered for {name}: {exc}")
    elapsed = time.monotonic() - started
    found = sorted(_normalise(rdata.to_text()) for rdata in answer)
    fields: dict[str, Any] = {
        "observed_value": elapsed,
        "observed_unit": "s",
        "measurements": {"answers": float(len(found))},
    }
    expected = sorted(_normalise(value) for value in options.expected)
    missing = [value for value in expected if value not in found]
    if missing:
        return CheckResult(Status.FAIL, f"missing {', '.join(missing)}; got {', '.join(found)}", **fields)
    if options.exact and found != expected:
        extra = [value for value in found if value not in expected]
        return CheckResult(
            Status.FAIL, f"unexpected {', '.join(extra)}; expected only {', '.join(expected)}", **fields
        )
    return CheckResult(
        Status.PASS, f"{name} {options.record_type}: {', '.join(found)} in {elapsed * 1000:.1f} ms", **fields
    )


def _normalise(text: str) -> str:
    """Compare names case-insensitively and without the trailing dot users usually leave out."""
    return text.strip().rstrip(".").lower() if '"' not in text else text.strip()
