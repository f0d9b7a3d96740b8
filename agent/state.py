"""What the agent knows about each check: flap thresholds, a bounded history, the stale rule.

A check's *reported* state only moves to fail after ``failure_threshold`` consecutive failing runs, and
only leaves fail after ``success_threshold`` consecutive non-failing ones (Kubernetes probe semantics);
between pass and warn it follows the latest run. Reads apply the stale rule on top: a result older than
3x the check's interval is reported as fail "stale", so a stalled scheduler never keeps serving a pass.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from checks.base import CheckResult, Status

STALE_FACTOR = 3.0
UNKNOWN = "unknown"  # no result yet


@dataclass(frozen=True, slots=True)
class Transition:
    check: str
    from_state: str
    to_state: str
    output: str


@dataclass(frozen=True, slots=True)
class CheckView:
    """A check as the endpoints report it, at one moment."""

    name: str
    state: str  # pass | warn | fail | unknown
    output: str
    last: CheckResult | None
    stale: bool
    consecutive_failures: int
    consecutive_successes: int


class CheckState:
    """The state machine and history of one check. Not thread-safe: it lives on the agent's event loop."""

    def __init__(self, name: str, interval_s: float, failure_threshold: int, success_threshold: int,
                 history_size: int, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.interval_s = interval_s
        self.failure_threshold = failure_threshold
        self.success_threshold = success_threshold
        self.history: deque[CheckResult] = deque(maxlen=history_size)
        self.state = UNKNOWN
        self.failures = 0  # consecutive failing runs
        self.successes = 0  # consecutive non-failing runs
        self.created_at = clock()
        self._clock = clock

    @property
    def last(self) -> CheckResult | None:
        return self.history[-1] if self.history else None

    def record(self, result: CheckResult) -> Transition | None:
        """Add one run's result; return the transition of the reported state, if it changed."""
        self.history.append(result)
        failed = result.status is Status.FAIL
        self.failures = self.failures + 1 if failed else 0
        self.successes = 0 if failed else self.successes + 1
        new_state = self._next_state(result.status)
        if new_state == self.state:
            return None
        transition = Transition(self.name, self.state, new_state, result.output)
        self.state = new_state
        return transition

    def _next_state(self, status: Status) -> str:
        if self.state == UNKNOWN:
            return status.value  # the first result is believed as it is: there is nothing to flap from
        if status is Status.FAIL:
            return Status.FAIL.value if self.failures >= self.failure_threshold else self.state
        if self.state == Status.FAIL.value and self.successes < self.success_threshold:
            return self.state
        return status.value

    def _output(self, last: CheckResult) -> str:
        # Say why the reported state is not the latest run's status, so an operator is not misled.
        if self.state == Status.FAIL.value and last.status is not Status.FAIL:
            return f"recovering: {self.successes}/{self.success_threshold} passing runs; last: {last.output}"
        if self.state != Status.FAIL.value and last.status is Status.FAIL:
            return f"failing {self.failures}/{self.failure_threshold} runs: {last.output}"
        return last.output

    def stale_at(self) -> float:
        """When the current result (or the wait for the first one) turns stale."""
        last = self.last
        return (last.finished_at if last is not None else self.created_at) + STALE_FACTOR * self.interval_s

    def view(self, now: float | None = None) -> CheckView:
        """The reported state at ``now``, with the stale rule applied."""
        now = self._clock() if now is None else now
        last = self.last
        stale = now > self.stale_at()
        if stale:
            state, output = Status.FAIL.value, "stale"
        elif last is None:
            state, output = UNKNOWN, "no result yet"
        else:
            state, output = self.state, self._output(last)
        return CheckView(self.name, state, output, last, stale, self.failures, self.successes)
