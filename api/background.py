"""Small helpers for the API's background tasks (outbox worker, ratings refresher, chat fan-out reader)."""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from api.log_fields import error_fields

log = structlog.get_logger("api.background")

STOP_TIMEOUT_S = 5.0  # how long a stop waits for a background task to unwind before giving up on it
_RECANCEL_EVERY_S = 0.1


async def cancel_and_wait(task: asyncio.Task[Any] | None, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Cancel ``task`` (if any) and wait until it has finished unwinding, for at most ``timeout_s``.

    A task that swallows its cancellation (a library that catches ``CancelledError`` in a retry loop)
    would otherwise keep this stop waiting for ever; one clean-clone test run hung for 180 s after its
    last request, with the loop idle, probably there. The task gets half of ``timeout_s`` to unwind after
    the first cancel (a psycopg query being cancelled waits for the server's answer, and a second cancel
    would make it drop the connection instead); after that it is cancelled again every 0.1 s, and one
    still running at the deadline is logged with the chain of awaits it is stuck in and left behind, so
    that the lifespan's other stops still run. (``asyncio.run`` cancels such a task once more at exit
    and waits for it without a bound: the line in the log is what says which task to fix.) An exception
    the task ended with is logged, not raised, for the same reason. Returns whether the task finished.
    """
    if task is None:
        return True
    if task.done():
        _log_failure(task, "background task had failed")
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    task.cancel()
    await asyncio.wait({task}, timeout=max(0.0, timeout_s / 2))
    while not task.done():
        if loop.time() >= deadline:
            log.error("background task did not stop", task=task.get_name(), timeout_s=timeout_s,
                      **{"error.stack_trace": await_chain(task)})
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=max(0.0, min(_RECANCEL_EVERY_S, deadline - loop.time())))
    _log_failure(task, "background task failed while stopping")
    return True


def _log_failure(task: asyncio.Task[Any], message: str) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        exc = task.exception()
        if exc is not None:
            log.error(message, task=task.get_name(), **error_fields(exc))


def await_chain(task: asyncio.Task[Any]) -> str:
    """Where ``task`` is suspended: each coroutine of its chain of awaits, outermost first, in the
    traceback's format (``Task.print_stack`` shows only the outermost one, not the frame that is stuck)."""
    lines = []
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is not None:
            lines.append(f'  File "{frame.f_code.co_filename}", line {frame.f_lineno}, in {frame.f_code.co_name}')
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return "\n".join(lines)
