"""The running agent: configured checks, their state, the scheduler feeding it and the metrics reading it.

Endpoints only ever read ``HealthAgent.views()``; nothing a caller does makes a check run.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from agent.config import CheckSpec, LoadedConfig
from agent.runner import run_check
from agent.scheduler import HEARTBEAT_JOB, add_interval_job, build_scheduler
from agent.state import CheckState, CheckView, Transition
from checks.base import CheckResult, Status
from checks.http_phases import phase_seconds
from exporters.probe_metrics import ProbeMetrics, ProbeSnapshot

log = structlog.get_logger("agent")


class HealthAgent:
    """Owns one state per check; ``start()`` schedules them on the running event loop."""

    def __init__(self, loaded: LoadedConfig, extra_specs: dict[str, CheckSpec] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.loaded = loaded
        self.config = loaded.agent
        self.specs: dict[str, CheckSpec] = {**loaded.checks, **(extra_specs or {})}
        self.states = {
            name: CheckState(name, spec.config.interval, spec.config.failure_threshold,
                             spec.config.success_threshold, self.config.history_size, clock)
            for name, spec in self.specs.items()
        }
        self._clock = clock
        self.metrics = ProbeMetrics(self.snapshots)
        self.scheduler: AsyncIOScheduler | None = None
        self.last_tick: float | None = None  # time.monotonic() of the last heartbeat
        self.version = 0  # bumped on every recorded result, so renderers can cache between results

    # --- scheduling ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Schedule every check (first run now) and the heartbeat, on the running event loop."""
        self.scheduler = build_scheduler()
        for name, spec in self.specs.items():
            add_interval_job(self.scheduler, f"check:{name}", self._job(name), spec.config.interval,
                             spec.config.effective_jitter)
        add_interval_job(self.scheduler, HEARTBEAT_JOB, self._heartbeat, self.config.heartbeat_interval)
        self.last_tick = time.monotonic()  # alive from the start; the heartbeat job keeps it fresh
        self.scheduler.start()
        log.info("agent scheduler started", **{"event.action": "agent-started", "labels.checks": len(self.specs)})

    def stop(self) -> None:
        """Stop scheduling; running checks are cancelled with the loop's tasks by the caller."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _job(self, name: str) -> Callable[[], Any]:
        async def run() -> None:
            await self.run_and_record(name)
        return run

    async def _heartbeat(self) -> None:
        self.last_tick = time.monotonic()
        self.metrics.heartbeat()

    async def run_and_record(self, name: str) -> CheckResult:
        """Run one check now and record its result (used by the jobs and by ``island-agent check``)."""
        result = await run_check(self.specs[name])
        self.record(name, result)
        return result

    # --- state -----------------------------------------------------------------------------------------

    def record(self, name: str, result: CheckResult) -> None:
        """Feed one result into the check's state; log and count a transition."""
        spec = self.specs[name]
        self.metrics.observe_run(name, spec.config.type, result.status.value, result.duration_s)
        transition = self.states[name].record(result)
        self.version += 1
        if transition is not None:
            self._announce(transition, spec)

    def _announce(self, transition: Transition, spec: CheckSpec) -> None:
        self.metrics.count_transition(transition.check, transition.to_state)
        failing = transition.to_state == Status.FAIL.value
        emit = log.warning if failing else log.info
        fields: dict[str, Any] = {
            "event.kind": "event",
            "event.category": ["host"],
            "event.type": ["change"],
            "event.action": "health-check-transition",
            "event.outcome": "failure" if failing else "success",
            "labels.check": transition.check,
            "labels.check_type": spec.config.type,
            "labels.critical": spec.config.critical,
            "labels.from_state": transition.from_state,
            "labels.to_state": transition.to_state,
        }
        if failing:
            fields["error.message"] = transition.output
        emit(f"check {transition.check} changed from {transition.from_state} to {transition.to_state}", **fields)

    def views(self, now: float | None = None) -> dict[str, CheckView]:
        """Every check's reported state right now (thresholds and the stale rule applied)."""
        now = self._clock() if now is None else now
        return {name: state.view(now) for name, state in self.states.items()}

    def snapshots(self) -> list[ProbeSnapshot]:
        """The views in the shape the metrics collector reads at scrape time."""
        out = []
        for name, view in self.views().items():
            spec, last = self.specs[name], view.last
            out.append(ProbeSnapshot(
                check=name, type=spec.config.type, state=view.state, critical=spec.config.critical,
                duration_s=last.duration_s if last else None, last_run_at=last.finished_at if last else None,
                tls_not_after=last.tls_not_after if last else None,
                phases=phase_seconds(last.measurements) if last and spec.config.type == "http" else ()))
        return out

    def next_stale_at(self) -> float:
        """The earliest moment a check's view can turn stale with no new result (for render caches)."""
        return min((state.stale_at() for state in self.states.values()), default=float("inf"))

    def groups(self) -> set[str]:
        return {group for spec in self.specs.values() for group in spec.config.groups}

    def liveness(self) -> tuple[bool, str]:
        """Whether the scheduler is ticking: a heartbeat within 3 heartbeat intervals (at least 2 s)."""
        if self.scheduler is None or not self.scheduler.running:
            return False, "scheduler not running"
        if self.last_tick is None:
            return False, "no heartbeat yet"
        age = time.monotonic() - self.last_tick
        allowed = max(3 * self.config.heartbeat_interval, 2.0)
        if age > allowed:
            return False, f"scheduler stalled: last heartbeat {age:.1f} s ago"
        return True, "ok"
