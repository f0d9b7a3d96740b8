"""Redis cache-aside for public responses (vehicle search and vehicle detail).

Invalidation uses versioned namespaces: every key embeds a version number read from Redis, and a write
bumps the version (``invalidate_vehicle``) instead of hunting down keys. A reader that loaded stale data
just before a bump writes it under the old version, where nobody looks any more; old keys expire by TTL.

- search results: one namespace for all searches (``ir:v:search``), bumped by any change that can alter a
  result list (a vehicle written, a booking made or cancelled, ratings refreshed);
- vehicle detail: one namespace per vehicle (``ir:v:vehicle:{id}``).

Only public, user-independent responses are stored. When Redis fails the callers get a miss / a no-op
(see ``api.redis_guard``), so the API keeps serving from Postgres.
"""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.redis_guard import guard_for
from exporters import instruments

PREFIX = "ir"
SEARCH_VERSION_KEY = f"{PREFIX}:v:search"


def _vehicle_version_key(vehicle_id: int) -> str:
    return f"{PREFIX}:v:vehicle:{vehicle_id}"


def query_key(normalised: dict[str, Any]) -> str:
    """A compact, stable key part for a normalised query."""
    return hashlib.sha256(orjson.dumps(normalised, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


async def cached_json(redis: Redis, cache: str, version_key: str, key_part: str, ttl_s: int,
                      load: Callable[[], Awaitable[Any]]) -> tuple[bytes, bool]:
    """The JSON bytes of ``load()``'s result, from Redis when present; returns (body, hit).

    ``cache`` is the low-cardinality cache name reported to telemetry ("search", "vehicle").
    """
    guard = guard_for(redis)
    key = None
    if guard.available():
        try:
            version = int(await redis.get(version_key) or 0)
            key = f"{PREFIX}:c:{cache}:{version}:{key_part}"
            body = await redis.get(key)  # bytes: the client is created with decode_responses=False
            guard.succeeded()
        except (RedisError, OSError) as exc:
            guard.failed(f"cache.get.{cache}", exc)
            key, body = None, None
        if body is not None:
            instruments.cache_lookup(cache, True)
            return (body if isinstance(body, bytes) else body.encode()), True
        instruments.cache_lookup(cache, False)
    value = await load()
    body = orjson.dumps(value)
    if key is not None and value is not None:
        try:
            await redis.set(key, body, ex=ttl_s)
        except (RedisError, OSError) as exc:
            guard.failed(f"cache.set.{cache}", exc)
    return body, False


async def cached_search(redis: Redis, normalised: dict[str, Any], ttl_s: int,
                        load: Callable[[], Awaitable[Any]]) -> tuple[bytes, bool]:
    return await cached_json(redis, "search", SEARCH_VERSION_KEY, query_key(normalised), ttl_s, load)


async def cached_vehicle(redis: Redis, vehicle_id: int, ttl_s: int,
                         load: Callable[[], Awaitable[Any]]) -> tuple[bytes, bool]:
    return await cached_json(redis, "vehicle", _vehicle_version_key(vehicle_id), str(vehicle_id), ttl_s, load)


async def invalidate_vehicle(redis: Redis, vehicle_id: int | None = None) -> None:
    """Forget cached search results and, if given, the detail of ``vehicle_id``. Never raises.

    Call after a committed write that changes search results or a vehicle page: vehicle create/update/
    delete, a booking created/cancelled/declined/expired (availability), ratings refreshed.
    ``redis`` is ``request.app.state.redis`` (or ``app.state.redis``).
    """
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incr(SEARCH_VERSION_KEY)
            if vehicle_id is not None:
                pipe.incr(_vehicle_version_key(vehicle_id))
            await pipe.execute()
    except (RedisError, OSError) as exc:
        guard_for(redis).failed("cache.invalidate", exc)
