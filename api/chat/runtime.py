"""Lifespan wiring of the chat fan-out: one ``Fanout`` (one Redis subscriber connection) per process."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.chat.pubsub import Fanout


@asynccontextmanager
async def chat_runtime(app: FastAPI) -> AsyncIterator[Fanout]:
    """Start the fan-out reader on ``app.state.chat_fanout`` for the life of the app."""
    fanout = Fanout(app.state.redis, prefix="island:")
    app.state.chat_fanout = fanout
    fanout.start()
    try:
        yield fanout
    finally:
        await fanout.stop()
