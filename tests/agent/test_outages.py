"""Real outages: a stopped throwaway Postgres, and a TCP port that accepts but never answers."""
from __future__ import annotations

import asyncio
import socket
import time

from agent.config import default_registry
from checks.base import Status
from tests.agent import fake_checks
from tests.agent.conftest import RunningAgent, serve_agent
from tests.support.services import postgres_cluster

# The real protocol checks when the checks package registers them, else the test's own equivalents.
PG_TYPE = "postgres" if "postgres" in default_registry() else "pg_select"
TCP_TYPE, TCP_OPTIONS = (("tcp", '{send: "PING\\r\\n", expect: "."}') if "tcp" in default_registry()
                         else ("tcp_read", '{send: "PING\\r\\n"}'))


def trailing(statuses: list[Status], status: Status) -> int:
    count = 0
    for s in reversed(statuses):
        if s is not status:
            break
        count += 1
    return count


async def test_postgres_stopped_then_back(agent_config) -> None:
    with postgres_cluster() as pg:
        config = f"""
        heartbeat_interval: 0.2
        checks:
          postgres:
            type: {PG_TYPE}
            target: {pg.dsn}
            interval: 0.3
            timeout: 0.25
            critical: true
            failure_threshold: 3
            success_threshold: 2
          other:
            type: fixed
            target: other-pg
            interval: 0.3
            timeout: 0.2
        """
        async with serve_agent(agent_config(config)) as running:
            state = running.agent.states["postgres"]

            async def readyz_is(code: int) -> bool:
                return (await running.client.get("/readyz")).status_code == code
            await running.wait_for(lambda: readyz_is(200), what="ready with postgres up")

            await asyncio.to_thread(pg.stop, "immediate")
            await running.wait_for(lambda: readyz_is(503), what="/readyz 503 with postgres stopped")
            assert trailing([r.status for r in state.history], Status.FAIL) >= 3  # not before the threshold
            health = await running.client.get("/health")
            assert health.status_code == 503 and health.json()["checks"]["postgres:responseTime"][0]["status"] == "fail"
            assert (await running.client.get("/livez")).status_code == 200

            await asyncio.to_thread(pg.start)
            await running.wait_for(lambda: readyz_is(200), timeout=15, what="/readyz 200 once postgres is back")
            assert trailing([r.status for r in state.history], Status.PASS) >= 2
            assert (await running.client.get("/health")).status_code == 200


def blackhole() -> socket.socket:
    """A listening socket nobody accepts on: the kernel completes handshakes, nothing is ever answered."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


async def test_blackhole_fails_within_timeout_others_keep_schedule(agent_config) -> None:
    hole = blackhole()
    port = hole.getsockname()[1]
    config = f"""
    checks:
      blackhole:
        type: {TCP_TYPE}
        target: 127.0.0.1:{port}
        interval: 1
        timeout: 0.5
        options: {TCP_OPTIONS}
      wedged:
        type: hang
        interval: 1
        timeout: 0.5
      tick:
        type: fixed
        target: tick-blackhole
        interval: 0.2
        jitter: 0
        timeout: 0.1
    """
    try:
        async with serve_agent(agent_config(config)) as running:
            await running.wait_for(_has_results(running, "blackhole", 2), timeout=5, what="two blackhole runs")
            runs_before, started = fake_checks.RUNS.get("tick-blackhole", 0), time.monotonic()
            slowest = 0.0
            while time.monotonic() - started < 2.0:
                t0 = time.monotonic()
                response = await running.client.get("/health")
                slowest = max(slowest, time.monotonic() - t0)
                assert response.status_code == 200
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
            ticks = fake_checks.RUNS["tick-blackhole"] - runs_before
            for name in ("blackhole", "wedged"):
                results = list(running.agent.states[name].history)
                assert results and all(r.status is Status.FAIL for r in results), name
                assert all(0.5 <= r.duration_s <= 0.8 for r in results), [r.duration_s for r in results]
            # 0.2 s interval: ~10 runs in 2 s; a neighbour hanging the loop for its 0.5 s timeout every second
            # would leave about half of them. The margin absorbs a loaded CI machine.
            assert ticks >= 0.7 * elapsed / 0.2, (ticks, elapsed)
            # never waiting on a check: well under the hung checks' 0.5 s timeout, even on a busy machine
            assert slowest < 0.3, f"/health took {slowest:.3f} s while checks were hanging"
    finally:
        hole.close()


def _has_results(running: RunningAgent, name: str, count: int):
    async def predicate() -> bool:
        return len(running.agent.states[name].history) >= count
    return predicate
