"""Disk: free space on the filesystem holding a path, against warn/fail thresholds in ratio or bytes.

The target is the path (e.g. the log directory). Free means available to this (non-privileged) process,
like ``df``'s "Avail". Observed value: free bytes. ``statvfs`` runs in a thread under the deadline,
because on a hung network filesystem it blocks.
"""
from __future__ import annotations

import asyncio
import os
import shutil
from typing import Any

from pydantic import Field

from checks import base
from checks.base import CheckResult, Deadline, Status
from checks.guard import TargetError, guarded


class DiskOptions(base.Options):
    """Options of the ``disk`` check: a threshold trips when free space falls below it."""

    warn_free_ratio: float = Field(default=0.10, ge=0, le=1, description="warn below this fraction free")
    fail_free_ratio: float = Field(default=0.05, ge=0, le=1, description="fail below this fraction free")
    warn_free_bytes: int | None = Field(default=None, ge=0, description="warn below this many bytes free")
    fail_free_bytes: int | None = Field(default=None, ge=0, description="fail below this many bytes free")


Options = DiskOptions  # the name every check module exposes


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size:.0f} B"
        size /= 1024
    return f"{size:.1f} TiB"  # not reached


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
    text = f"{_human(usage.free)} free of {_human(usage.total)} ({ratio:.1%}) on {path}"
    fields: dict[str, Any] = {"observed_value": usage.free, "observed_unit": "bytes",
              "measurements": {"free_bytes": float(usage.free), "total_bytes": float(usage.total),
                               "used_bytes": float(usage.used), "free_ratio": ratio}}
    status = Status.PASS
    reasons = []
    for level, min_ratio, min_bytes in ((Status.FAIL, options.fail_free_ratio, options.fail_free_bytes),
                                        (Status.WARN, options.warn_free_ratio, options.warn_free_bytes)):
        if ratio < min_ratio:
            reasons.append(f"below {min_ratio:.1%} free")
        elif min_bytes is not None and usage.free < min_bytes:
            reasons.append(f"below {_human(min_bytes)} free")
        else:
            continue
        status = level
        break
    output = f"{text}; {reasons[0]}" if reasons else text
    return CheckResult(status, output, **fields)
