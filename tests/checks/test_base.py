"""The Deadline every check shares: steps, naming the step that hung, never negative."""

from __future__ import annotations

import asyncio

import pytest

from checks.base import Deadline, DeadlineExceeded, Status


async def test_run_returns_in_time_and_names_the_step_that_hung() -> None:
    deadline = Deadline(0.2)
    assert await deadline.run("quick", asyncio.sleep(0, result="done")) == "done"
    assert deadline.current_step == "quick"
    with pytest.raises(DeadlineExceeded) as caught:
        await deadline.run("slow step", asyncio.sleep(5))
    assert caught.value.step == "slow step" and str(caught.value) == "timed out during slow step"
    assert deadline.remaining() == 0.0


async def test_step_names_where_a_block_was_when_time_ran_out() -> None:
    deadline = Deadline(0.1)
    with pytest.raises(DeadlineExceeded) as caught:
        async with deadline.step("request"):
            await asyncio.sleep(0)
            deadline.current_step = "waiting for headers"  # a check following its library's progress
            await asyncio.sleep(5)
    assert caught.value.step == "waiting for headers"


async def test_a_spent_deadline_fails_the_next_step_at_once() -> None:
    deadline = Deadline(0.0)
    with pytest.raises(DeadlineExceeded):
        await deadline.run("connect", asyncio.sleep(0.01))


def test_status_severity_orders_pass_warn_fail() -> None:
    assert [s.severity for s in (Status.PASS, Status.WARN, Status.FAIL)] == [0, 1, 2]
