"""The redis check against a throwaway redis-server (maxmemory 4mb)."""
from __future__ import annotations

from checks import redis
from checks.base import Deadline, Status
from tests.support.services import free_port


async def test_pass_reports_ping_memory_and_role(redis_url: str) -> None:
    result = await redis.run(redis_url, redis.Options(), Deadline(2))
    assert result.status is Status.PASS, result.output
    assert result.observed_unit == "s" and 0 < result.observed_value < 2
    assert result.measurements["maxmemory_bytes"] == 4 * 1024 * 1024
    assert 0 < result.measurements["memory_ratio"] < 0.9
    assert result.measurements["rejected_connections"] == 0
    assert "role master" in result.output


async def test_memory_ratio_warns(redis_url: str) -> None:
    result = await redis.run(redis_url, redis.Options(memory_warn_ratio=0.01), Deadline(2))
    assert result.status is Status.WARN and "of maxmemory" in result.output


async def test_unexpected_role_fails(redis_url: str) -> None:
    assert (await redis.run(redis_url, redis.Options(expected_role="master"), Deadline(2))).status is Status.PASS
    result = await redis.run(redis_url, redis.Options(expected_role="slave"), Deadline(2))
    assert result.status is Status.FAIL and "role is master, expected slave" in result.output


async def test_refused_fails_without_password() -> None:
    result = await redis.run(f"redis://:Sup3rS3cret@127.0.0.1:{free_port()}/0", redis.Options(), Deadline(2))
    assert result.status is Status.FAIL and result.output.startswith("connect:")
    assert "Sup3rS3cret" not in result.output


async def test_not_a_redis_url_fails_clearly() -> None:
    result = await redis.run("127.0.0.1:6379", redis.Options(), Deadline(2))
    assert result.status is Status.FAIL and "redis://" in result.output
