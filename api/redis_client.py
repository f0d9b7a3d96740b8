"""The API's Redis client (cache, rate limits, chat fan-out): short timeouts so an outage fails fast."""
from __future__ import annotations

from redis.asyncio import Redis

from api.settings import Settings


def create_redis(settings: Settings) -> Redis:
    """A pooled client; connecting is lazy, so the API starts even while Redis is down."""
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
        health_check_interval=30,
        # A peer that vanished without a FIN (a NAT or firewall dropping the flow) is found by the kernel
        # instead of by the next command timing out.
        socket_keepalive=True,
        decode_responses=False,
    )
