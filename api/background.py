"""Small helpers for the API's background tasks (outbox worker, ratings refresher, chat fan-out reader)."""
from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Any

import structlog

from api.log_fields import error_fields

log = structlog.get_logger("api.background")

STOP_TIMEOUT_S = 5.0  # how long a stop waits for a background task to unwind before giving up on it
_RECANCEL_EVERY_S = 0.1


async def cancel_and_wait(task: asyncio.Task[Any] | None, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Cancel ``task`` (if any) and wait until it has finished unwinding, for at most ``timeout_s``.

    Bounded because a task that swallows its cancellation (a library that catches ``CancelledError`` in a
    retry loop) would otherwise hang the lifespan's shutdown for ever; one clean-clone test run hung for
    180 s after its last request, with the loop idle, probably there. Such a task is cancelled again
    every 0.1 s; one still running at the deadline is logged with its name and stack and left behind.
    Returns whether the task finished.
    """
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        task.cancel()
        remaining = deadline - loop.time()
        done, _ = await asyncio.wait({task}, timeout=max(0.0, min(_RECANCEL_EVERY_S, remaining)))
        if done:
            break
        if loop.time() >= deadline:
            stack = io.StringIO()
            task.print_stack(file=stack)
            log.error("background task did not stop", task=task.get_name(), timeout_s=timeout_s,
                      **{"error.stack_trace": stack.getvalue()})
            return False
    with contextlib.suppress(asyncio.CancelledError):
        exc = task.exception()
        if exc is not None:  # logged, not raised: the lifespan's other stops must still run
            log.error("background task failed while stopping", task=task.get_name(), **error_fields(exc))
    return True
