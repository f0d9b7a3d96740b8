"""One run of one check: deadlines, the agent's hard stop, exceptions, warn_duration, and the job options."""
from __future__ import annotations

from agent.core import HealthAgent
from agent.runner import run_check
from checks.base import Status


async def test_slow_pass_becomes_warn(agent_config) -> None:
    loaded = agent_config("""
    checks:
      slow: {type: fixed, target: slow, timeout: 1, warn_duration: 0.05, options: {sleep_s: 0.1, output: fine}}
    """)
    result = await run_check(loaded.checks["slow"])
    assert result.status is Status.WARN and result.output.startswith("slow: 0.1") and result.output.endswith("; fine")


async def test_exception_is_a_scrubbed_fail(agent_config) -> None:
    loaded = agent_config("""
    checks:
      boom: {type: fixed, target: boom, options: {raise_error: "cannot reach postgresql://app:hunter2@db/x"}}
    """)
    result = await run_check(loaded.checks["boom"])
    assert result.status is Status.FAIL
    assert result.output.startswith("check raised RuntimeError: cannot reach postgresql://app:")
    assert "hunter2" not in result.output


async def test_deadline_and_hard_stop(agent_config) -> None:
    loaded = agent_config("""
    checks:
      honours: {type: fixed, target: honours, timeout: 0.2, options: {sleep_s: 5}}
      ignores: {type: hang, timeout: 0.2}
    """)
    honours = await run_check(loaded.checks["honours"])
    assert (honours.status, honours.output) == (Status.FAIL, "timed out after 0.2 s during sleep")
    ignores = await run_check(loaded.checks["ignores"])
    assert (ignores.status, ignores.output) == (Status.FAIL, "timed out after 0.2 s")
    assert 0.2 <= ignores.duration_s < 0.5


async def test_one_job_per_check_never_overlapping(agent_config) -> None:
    loaded = agent_config("""
    checks:
      a: {type: fixed, target: job-a, interval: 4, jitter: 0.5}
      b: {type: fixed, target: job-b}
    """)
    agent = HealthAgent(loaded)
    agent.start()
    try:
        jobs = {job.id: job for job in agent.scheduler.get_jobs()}
        assert set(jobs) == {"check:a", "check:b", "agent:heartbeat"}
        for job in jobs.values():
            assert job.max_instances == 1 and job.coalesce is True
        assert jobs["check:a"].trigger.jitter == 0.5 and jobs["check:a"].trigger.interval.total_seconds() == 4
        assert jobs["check:b"].trigger.jitter == 1.0  # default: 10 % of 10 s
    finally:
        agent.stop()
