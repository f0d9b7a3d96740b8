"""Redis: PING latency, then INFO: memory used vs maxmemory, role, rejected connections.

Observed value: PING round trip in seconds. A Redis near ``maxmemory`` starts evicting (or refusing
writes); ``rejected_connections`` counts clients turned away at ``maxclients`` since the server started.
The target is a ``redis://`` / ``rediss://`` URL (``redis://:password@host:6379/0``).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field

from checks.base import CheckResult, Deadline, Status
from checks.certificates import TlsClientOptions, client_context, peer_not_after
from checks.guard import guarded
from checks.resp import RespConnection, RespError, parse_info, parse_url
from checks.units import human_bytes


class RedisOptions(TlsClientOptions):
    """Options of the ``redis`` check (``ca_file``/``insecure`` apply to rediss:// targets)."""

    memory_warn_ratio: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="warn when used_memory / maxmemory reaches this (if maxmemory set)",
    )
    expected_role: Literal["master", "slave"] | None = Field(
        default=None, description="fail when INFO replication reports another role"
    )
    latency_warn_s: float | None = Field(default=None, gt=0, description="warn when PING is slower (seconds)")


Options = RedisOptions  # the name every check module exposes


@guarded(RespError)
async def run(target: str, options: RedisOptions, deadline: Deadline) -> CheckResult:
    """PING ``target`` and read INFO (memory, replication, stats), each step bounded by ``deadline``."""
    address = parse_url(target)
    context = client_context(options) if address.tls else None
    connection = await deadline.run("connect", RespConnection.open(address, context))
    not_after = peer_not_after(connection.writer.get_extra_info("ssl_object"))
    try:
        started = time.monotonic()
        pong = await deadline.run("PING", connection.command("PING"))
        latency = time.monotonic() - started
        if pong != "PONG":
            raise RespError(f"PING answered {pong!r}")
        raw = await deadline.run("INFO", connection.command("INFO"))  # default sections: any Redis version
    finally:
        connection.close()
    return _result(latency, parse_info(raw.decode(errors="replace")), options, not_after)


def _result(
    latency: float, info: dict[str, Any], options: RedisOptions, not_after: float | None
) -> CheckResult:
    used, maximum = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
    role = str(info.get("role", "unknown"))
    measurements = {
        "latency_s": latency,
        "used_memory_bytes": float(used),
        "maxmemory_bytes": float(maximum),
        "rejected_connections": float(info.get("rejected_connections", 0)),
        "connected_clients": float(info.get("connected_clients", 0)),
    }
    if maximum:
        measurements["memory_ratio"] = used / maximum
    summary = (
        f"PONG in {latency * 1000:.1f} ms; role {role}; memory {human_bytes(used)}"
        + (f" of {human_bytes(maximum)} ({used / maximum:.0%})" if maximum else " (no maxmemory)")
        + f"; rejected connections {measurements['rejected_connections']:.0f}"
    )
    fields: dict[str, Any] = {
        "observed_value": latency,
        "observed_unit": "s",
        "measurements": measurements,
        "tls_not_after": not_after,
    }
    if options.expected_role and role != options.expected_role:
        return CheckResult(
            Status.FAIL, f"role is {role}, expected {options.expected_role}; {summary}", **fields
        )
    warnings = []
    if maximum and used / maximum >= options.memory_warn_ratio:
        warnings.append(f"memory {used / maximum:.0%} of maxmemory (>= {options.memory_warn_ratio:.0%})")
    if options.latency_warn_s is not None and latency > options.latency_warn_s:
        warnings.append(f"slow PING ({latency:.3f}s > {options.latency_warn_s:g}s)")
    if warnings:
        return CheckResult(Status.WARN, "; ".join(warnings) + f"; {summary}", **fields)
    return CheckResult(Status.PASS, summary, **fields)
