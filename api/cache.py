"""Redis cache-aside for public responses (vehicle search and vehicle detail).

Invalidation uses versioned namespaces: every entry is stored with the namespace version it was loaded
under, and a write bumps the version (``invalidate_vehicle``) instead of hunting down keys. A reader that
loaded stale data just before a bump stores it tagged with the old version, which is never served.

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


def _unpack(stored: bytes | str | None, version: int) -> bytes | None:
    """The body of a stored ``b"<version>:<body>"`` entry if it belongs to ``version``."""
    if stored is None:
        return None
    raw = stored if isinstance(stored, bytes) else stored.encode()
    tag, _, body = raw.partition(b":")
    return body if tag == str(version).encode() else None


async def cached_json(redis: Redis, cache: str, version_key: str, key_part: str, ttl_s: int,
                      load: Callable[[], Awaitable[Any]]) -> tuple[bytes, bool]:
    """The JSON bytes of ``load()``'s result, from Redis when present; returns (body, hit).

    One round trip per read: MGET of the namespace version and the entry, which is stored prefixed by
    the version it was loaded under (so an entry from before an invalidation is never served).
    ``cache`` is the low-cardinality cache name reported to telemetry ("search", "vehicle").
    """
    guard = guard_for(redis)
    key, version = f"{PREFIX}:c:{cache}:{key_part}", None
    if guard.available():
        try:
            version_raw, stored = await redis.mget(version_key, key)
            version = int(version_raw or 0)
            guard.succeeded()
        except (RedisError, OSError) as exc:
            guard.failed(f"cache.get.{cache}", exc)
        else:
            body = _unpack(stored, version)
            instruments.cache_lookup(cache, body is not None)
            if body is not None:
                return body, True
    value = await load()
    body = orjson.dumps(value)
    if version is not None and value is not None:
        try:
            await redis.set(key, b"%d:%s" % (version, body), ex=ttl_s)
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
