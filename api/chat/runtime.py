"""Lifespan wiring of the chat fan-out: one ``Fanout`` (one Redis subscriber connection) per process."""
from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from api.chat.pubsub import Fanout

# The subscriber connection sits idle for as long as nobody chats. If the path to Redis dies without a
# reset (a NAT or load balancer dropping the flow), only TCP keepalive notices; Linux' default would
# wait two hours, these notice within about a minute and the reader reconnects and re-subscribes.
KEEPALIVE_OPTIONS = {socket.TCP_KEEPIDLE: 30, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 3}


def subscriber_client(redis_url: str, connect_timeout_s: float) -> Redis:
    """A Redis client for the long-lived subscriber connection: keepalive on, no read timeout."""
    return Redis.from_url(redis_url, socket_connect_timeout=connect_timeout_s, socket_keepalive=True,
                          socket_keepalive_options=KEEPALIVE_OPTIONS, health_check_interval=30)


@asynccontextmanager
async def chat_runtime(app: FastAPI) -> AsyncIterator[Fanout]:
    """Start the fan-out reader on ``app.state.chat_fanout`` for the life of the app."""
    settings = app.state.settings
    subscriber = subscriber_client(settings.redis_url, settings.redis_timeout_s)
    fanout = Fanout(app.state.redis, prefix="island:", subscriber=subscriber)
    app.state.chat_fanout = fanout
    fanout.start()
    try:
        yield fanout
    finally:
        await fanout.stop()
        await subscriber.aclose()
