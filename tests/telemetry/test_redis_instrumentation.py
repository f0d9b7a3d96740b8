"""instrument_redis: a duration sample per command and per pipeline, outcome error when Redis fails."""
from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from exporters.redis_instrumentation import instrument_redis
from tests.support.services import free_port, redis_server, redis_url


def _count(operation: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("db_client_operation_duration_seconds_count", {
        "db_system_name": "redis", "db_operation_name": operation, "db_collection_name": "",
        "outcome": outcome}) or 0.0


async def test_commands_and_pipelines_are_timed():
    with redis_server() as srv:
        client = instrument_redis(Redis.from_url(redis_url(srv)))
        assert instrument_redis(client) is client  # idempotent
        before = _count("SET", "success"), _count("GET", "success"), _count("PIPELINE", "success")
        await client.set("k", "v")
        assert await client.get("k") == b"v"
        async with client.pipeline() as pipe:
            assert await pipe.incr("n").incr("n").execute() == [1, 2]
        await client.aclose()
    assert (_count("SET", "success"), _count("GET", "success"), _count("PIPELINE", "success")) == \
        (before[0] + 1, before[1] + 1, before[2] + 1)


async def test_a_failing_command_counts_as_error():
    client = instrument_redis(Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2))
    before = _count("GET", "error")
    with pytest.raises(RedisConnectionError):
        await client.get("k")
    await client.aclose()
    assert _count("GET", "error") == before + 1
