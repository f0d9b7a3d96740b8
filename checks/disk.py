"""Disk: free space on the filesystem holding a path, against warn/fail thresholds in ratio or bytes.

The target is the path (e.g. the log directory). Free means available to this (non-privileged) process,
like ``df``'s "Avail". Observed value: free bytes. ``statvfs`` runs in a thread under the deadline,
because on a hung network filesystem it blocks.
"""

from __future__ import annotations

import asyncio
import os
import shutil

from pydantic import Field

from checks import base
from checks.base import CheckResult, Deadline, Status
from checks.guard import TargetError, guarded
from checks.units import human_bytes


class DiskOptions(base.Options):
    """Options of the ``disk`` check: a threshold trips when free space falls below it."""

    warn_free_ratio: float = Field(default=0.10, ge=0, le=1, description="warn below this fraction free")
    fail_free_ratio: float = Field(default=0.05, ge=0, le=1, description="fail below this fraction free")
    warn_free_bytes: int | None = Field(default=None, ge=0, description="warn below this many bytes free")
    fail_free_bytes: int | None = Field(default=None, ge=0, description="fail below this many bytes free")


Options = DiskOptions  # the name every check module exposes


@guarded()
async def run(target: str, options: DiskOptions, deadline: Deadline) -> CheckResult:
    """Measure free space where ``target`` lives and compare it with the thresholds."""
    path = target.strip()
    if not path:
        raise TargetError("target is empty: expected a filesystem path")
    if not await deadline.run("stat", asyncio.to_thread(os.path.exists, path)):
        raise TargetError(f"{path} does not exist")
    usage = await deadline.run("statvfs", asyncio.to_thread(shutil.disk_usage, path))
    ratio = usage.free / usage.total if usage.total else 0.0
    text = f"{human_bytes(usage.free)} free of {human_bytes(usage.total)} ({ratio:.1%}) on {path}"
    measurements = {
        "free_bytes": float(usage.free),
        "total_bytes": float(usage.total),
        "used_bytes": float(usage.used),
        "free_ratio": ratio,
    }
    status, reason = _judge(usage.free, ratio, options)
    return CheckResult(
        status,
        f"{text}; {reason}" if reason else text,
        observed_value=usage.free,
        observed_unit="bytes",
        measurements=measurements,
    )


def _judge(free: int, ratio: float, options: DiskOptions) -> tuple[Status, str | None]:
    """The worst threshold crossed (fail before warn) and why; pass and None when none is."""
    for status, min_ratio, min_bytes in (
        (Status.FAIL, options.fail_free_ratio, options.fail_free_bytes),
        (Status.WARN, options.warn_free_ratio, options.warn_free_bytes),
    ):
        if ratio < min_ratio:
            return status, f"below {min_ratio:.1%} free"
        if min_bytes is not None and free < min_bytes:
            return status, f"below {human_bytes(min_bytes)} free"
    return Status.PASS, None
