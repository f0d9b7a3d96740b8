"""Flap thresholds, bounded history and the stale rule of one check's state (pure, with a fake clock)."""
from __future__ import annotations

from agent.state import CheckState
from checks.base import CheckResult, Status


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def result(status: Status, at: float, output: str = "") -> CheckResult:
    return CheckResult(status, output or status.value, finished_at=at)


def test_fail_only_after_failure_threshold_and_recover_after_success_threshold() -> None:
    clock = Clock()
    state = CheckState("db", 1.0, failure_threshold=3, success_threshold=2, history_size=10, clock=clock)
    assert state.record(result(Status.PASS, clock.now)).to_state == "pass"
    transitions = [state.record(result(Status.FAIL, clock.now, "refused")) for _ in range(2)]
    assert transitions == [None, None]
    assert (state.view().state, state.view().output) == ("pass", "failing 2/3 runs: refused")
    transitions.append(state.record(result(Status.FAIL, clock.now, "refused")))
    assert transitions[2] is not None and (transitions[2].from_state, transitions[2].to_state) == ("pass", "fail")
    assert state.record(result(Status.PASS, clock.now)) is None
    assert state.view().state == "fail" and state.view().output.startswith("recovering: 1/2")
    assert state.record(result(Status.PASS, clock.now)).to_state == "pass"


def test_a_pass_in_between_resets_the_failure_count() -> None:
    clock = Clock()
    state = CheckState("db", 1.0, 3, 1, 10, clock)
    for status in [Status.PASS, Status.FAIL, Status.FAIL, Status.PASS, Status.FAIL, Status.FAIL]:
        state.record(result(status, clock.now))
    view = state.view()
    assert view.state == "pass" and view.consecutive_failures == 2
    assert view.output == "failing 2/3 runs: fail"


def test_warn_follows_latest_run_without_threshold() -> None:
    clock = Clock()
    state = CheckState("api", 1.0, 3, 1, 10, clock)
    state.record(result(Status.PASS, clock.now))
    assert state.record(result(Status.WARN, clock.now)).to_state == "warn"
    assert state.record(result(Status.PASS, clock.now)).to_state == "pass"


def test_history_is_bounded() -> None:
    clock = Clock()
    state = CheckState("x", 1.0, 3, 1, history_size=5, clock=clock)
    for i in range(12):
        state.record(result(Status.PASS, clock.now, f"run {i}"))
    assert [r.output for r in state.history] == [f"run {i}" for i in range(7, 12)]


def test_result_older_than_three_intervals_is_stale_fail() -> None:
    clock = Clock()
    state = CheckState("db", 2.0, 3, 1, 10, clock)
    state.record(result(Status.PASS, clock.now))
    clock.now += 5.9
    assert state.view().state == "pass"
    clock.now += 0.2  # 6.1 s > 3 x 2 s
    view = state.view()
    assert (view.state, view.output, view.stale) == ("fail", "stale", True)


def test_never_run_is_unknown_then_stale() -> None:
    clock = Clock()
    state = CheckState("db", 1.0, 3, 1, 10, clock)
    assert (state.view().state, state.view().output) == ("unknown", "no result yet")
    clock.now += 3.5
    assert (state.view().state, state.view().output) == ("fail", "stale")
