"""Stopping background tasks: bounded, even for a task that swallows its cancellation."""
from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from api.background import cancel_and_wait


async def test_a_well_behaved_task_is_cancelled_and_awaited() -> None:
    unwound = asyncio.Event()

    async def worker() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            unwound.set()

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task) is True
    assert task.cancelled() and unwound.is_set()


async def test_a_slow_cleanup_is_not_interrupted() -> None:
    cleaned = asyncio.Event()

    async def worker() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.3)  # e.g. psycopg waiting for the server to cancel a query
            cleaned.set()

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, timeout_s=2.0) is True
    assert cleaned.is_set()


async def test_a_task_swallowing_one_cancel_is_cancelled_again() -> None:
    async def stubborn_once() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # swallowed, as a library's retry loop might
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn_once())
    await asyncio.sleep(0)
    assert await asyncio.wait_for(cancel_and_wait(task, timeout_s=2.0), 5) is True
    assert task.cancelled()


async def test_a_task_that_never_stops_is_logged_with_where_it_is_stuck() -> None:
    stop = asyncio.Event()

    async def retry_loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    async def immortal() -> None:
        await retry_loop()

    task = asyncio.create_task(immortal(), name="immortal-task")
    await asyncio.sleep(0)
    with capture_logs() as logs:
        finished = await asyncio.wait_for(cancel_and_wait(task, timeout_s=0.3), 5)
    assert finished is False
    [line] = [line for line in logs if line["event"] == "background task did not stop"]
    assert line["task"] == "immortal-task" and line["log_level"] == "error"
    chain = line["error.stack_trace"]
    assert "in immortal" in chain and "in retry_loop" in chain  # the frame that swallows, not only the top
    stop.set()
    task.cancel()
    await asyncio.wait({task})


async def test_an_error_while_unwinding_is_logged_not_raised() -> None:
    async def failing() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    task = asyncio.create_task(failing(), name="failing-task")
    await asyncio.sleep(0)
    with capture_logs() as logs:
        assert await cancel_and_wait(task) is True
    [line] = [line for line in logs if line["event"] == "background task failed while stopping"]
    assert line["error.type"] == "RuntimeError" and line["error.message"] == "cleanup failed"


async def test_a_task_that_had_already_failed_is_logged_as_such() -> None:
    async def crash() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(crash(), name="crashed-task")
    await asyncio.wait({task})
    with capture_logs() as logs:
        assert await cancel_and_wait(task) is True
    [line] = [line for line in logs if line["event"] == "background task had failed"]
    assert line["task"] == "crashed-task" and line["error.message"] == "boom"


async def test_the_caller_being_cancelled_is_not_swallowed() -> None:
    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(1)

    task = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    stopper = asyncio.create_task(cancel_and_wait(task))
    await asyncio.sleep(0.05)
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    await asyncio.wait({task})


async def test_no_task_is_a_no_op() -> None:
    assert await cancel_and_wait(None) is True
