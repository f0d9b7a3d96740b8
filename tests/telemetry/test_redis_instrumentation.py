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


def test_span_attributes_from_the_client_configuration_keep_only_values_a_span_can_take():
    """The spans of a client take its shared attributes without a check each time (they come from the
    user's configuration): anything that is not a str, bool, int or float is left out once, up front."""
    from exporters.redis_instrumentation import _server_attributes

    unix = Redis(unix_socket_path="/run/redis.sock", db=2)
    assert _server_attributes(unix) == {"db.system.name": "redis", "db.namespace": "2"}
    odd = Redis(host="127.0.0.1", port=6379)
    odd.connection_pool.connection_kwargs["host"] = None  # as a hand-made pool could leave it
    assert _server_attributes(odd) == {"db.system.name": "redis", "db.namespace": "0", "server.port": 6379}
