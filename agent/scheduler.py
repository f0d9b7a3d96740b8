"""APScheduler wiring: one interval job per check, plus a heartbeat that proves the scheduler ticks.

Every check job starts at once (``next_run_time=now``), then runs every ``interval`` plus a random jitter,
so fifty checks with the same interval do not hit their targets in lockstep. ``max_instances=1`` means one
check never runs twice at once; ``coalesce`` turns a backlog (the loop was blocked) into a single run;
``misfire_grace_time=None`` runs a late job rather than skipping it. Jobs are coroutines on the agent's
event loop, each bounded by its own deadline, so a hung check only ever occupies its own job.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

HEARTBEAT_JOB = "agent:heartbeat"
# APScheduler warns on every skipped overlapping run; with timeout < interval that cannot happen, and the
# scheduler's own INFO lines ("Added job", "Running job") would drown the agent's log at sub-second intervals.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


def build_scheduler() -> AsyncIOScheduler:
    """A scheduler for the running event loop, on UTC."""
    return AsyncIOScheduler(timezone=UTC)


def add_interval_job(scheduler: AsyncIOScheduler, job_id: str, func: Callable[[], Awaitable[None]],
                     interval_s: float, jitter_s: float = 0.0) -> None:
    """Run ``func`` now and then every ``interval_s`` (+ up to ``jitter_s``), never two at once."""
    scheduler.add_job(
        func,
        trigger=IntervalTrigger(seconds=interval_s, jitter=jitter_s or None, timezone=UTC),
        id=job_id,
        name=job_id,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        replace_existing=True,
    )
