"""Run one check once, under its deadline, always returning a CheckResult.

Checks put their ``Deadline`` on every I/O step themselves; the agent adds a hard stop a little after it,
so a check that forgets one (or a bug that hangs) still ends, and an exception becomes a fail result
instead of killing the job. A passing run slower than ``warn_duration`` is reported as warn.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time

from agent.config import CheckSpec
from checks import scrub
from checks.base import CheckResult, Deadline, DeadlineExceeded, Status

# Grace after the check's own deadline before the agent cancels it: enough for a check to notice the deadline
# and build its own (more precise) result, small enough to keep "fails within timeout + 0.3 s".
HARD_STOP_GRACE_S = 0.1


async def run_check(spec: CheckSpec) -> CheckResult:
    """Run ``spec`` once; never raises (except CancelledError), never outlives timeout + a short grace."""
    timeout = spec.config.timeout
    deadline = Deadline(timeout)
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout + HARD_STOP_GRACE_S):
            result = await spec.check_type.run(spec.config.target, spec.options, deadline)
    except (TimeoutError, DeadlineExceeded) as exc:
        step = f" during {exc.step}" if isinstance(exc, DeadlineExceeded) else ""
        return CheckResult(Status.FAIL, f"timed out after {timeout:g} s{step}", duration_s=time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 -- a bug in a check must not stop the agent: it is that check's failure
        message = scrub(f"{type(exc).__name__}: {exc}")
        return CheckResult(Status.FAIL, f"check raised {message}", duration_s=time.monotonic() - started)
    if not result.duration_s:
        result = dataclasses.replace(result, duration_s=time.monotonic() - started)
    warn_after = spec.config.warn_duration
    if result.status is Status.PASS and warn_after is not None and result.duration_s > warn_after:
        output = f"slow: {result.duration_s:.3f} s > {warn_after:g} s" + (f"; {result.output}" if result.output else "")
        result = dataclasses.replace(result, status=Status.WARN, output=output)
    return result
