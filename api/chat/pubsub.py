"""Fan-out of chat messages between API processes through Redis pub/sub.

One ``Fanout`` per process owns ONE Redis subscriber connection and one reader task. Local listeners
(WebSocket handlers) subscribe to a channel; the first listener of a channel subscribes the connection,
the last one to leave unsubscribes it. Every message published by any process on that channel is put on
each local listener's bounded queue. A listener that cannot keep up is flagged ``overflowed`` rather
than growing memory: its WebSocket is closed and the client reloads history over REST (messages live in
Postgres, so nothing is lost).

If Redis drops, the reader logs, backs off and reconnects; redis-py re-subscribes every channel on
reconnect. Messages published during the outage are not replayed (pub/sub has no history).
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import redis.asyncio as redis
import structlog

from api.background import cancel_and_wait
from api.log_fields import error_fields

log = structlog.get_logger("api.chat")


LISTENER_QUEUE_SIZE = 256
SUBSCRIBE_TIMEOUT_S = 5.0


@dataclass(eq=False)
class Listener:
    """One local consumer of a channel: read ``queue``; check ``overflowed`` when woken by None."""

    channel: str
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(LISTENER_QUEUE_SIZE))
    overflowed: bool = False

    def deliver(self, data: str) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.overflowed = True
            # Make room for the wake-up so the consumer notices the overflow now.
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def get(self) -> str:
        """Next message; raises OverflowError when this listener fell too far behind."""
        data = await self.queue.get()
        if data is None or self.overflowed:
            raise OverflowError(f"listener on {self.channel} fell behind")
        return data


class Fanout:
    """Publish to and listen on Redis channels; ``start()`` and ``stop()`` belong in the app lifespan."""

    def __init__(self, client: redis.Redis, *, prefix: str = "island:", subscriber: redis.Redis | None = None) -> None:
        """``client`` publishes; ``subscriber`` (default: the same client) provides the subscriber connection."""
        self.client = client
        self.prefix = prefix
        self._pubsub = (subscriber or client).pubsub()
        self._listeners: dict[str, set[Listener]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}  # set when Redis acknowledges the SUBSCRIBE
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task | None = None
        # A channel nobody publishes to, subscribed at start so the reader always has a connection to wait on.
        self._control = f"{prefix}fanout:control"

    def channel(self, name: str) -> str:
        """The full Redis channel name for a short name such as ``conversation:42``."""
        return f"{self.prefix}{name}"

    def start(self) -> None:
        self._reader = asyncio.create_task(self._read_forever(), name="chat-fanout-reader")

    async def stop(self) -> None:
        await cancel_and_wait(self._reader)
        self._reader = None
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()

    async def publish(self, channel: str, data: str) -> int:
        """Publish ``data`` on ``channel`` (a full name from ``channel()``); returns Redis' receiver count."""
        return int(await self.client.publish(channel, data))

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        """Register a local listener on ``channel`` for the duration of the block.

        Entering returns once Redis has confirmed the subscription, so anything published after that
        (by any process) reaches the listener. TimeoutError after ``SUBSCRIBE_TIMEOUT_S`` otherwise.
        """
        listener = Listener(channel)
        try:
            async with self._lock:
                members = self._listeners.setdefault(channel, set())
                first = not members
                members.add(listener)
                if first:
                    self._confirmed[channel] = asyncio.Event()
                    await self._pubsub.subscribe(channel)
            await asyncio.wait_for(self._confirmed[channel].wait(), SUBSCRIBE_TIMEOUT_S)
            yield listener
        finally:
            async with self._lock:
                members = self._listeners.get(channel, set())
                members.discard(listener)
                if not members:
                    self._listeners.pop(channel, None)
                    self._confirmed.pop(channel, None)
                    with contextlib.suppress(Exception):  # Redis may be down; it is re-synced on reconnect
                        await self._pubsub.unsubscribe(channel)

    def _handle(self, message: dict) -> None:
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        kind = message.get("type")
        if kind == "subscribe":  # also after a reconnect, when redis-py re-subscribes every channel
            if (confirmed := self._confirmed.get(channel)) is not None:
                confirmed.set()
            return
        if kind != "message":
            return
        data = message["data"]
        data = data.decode() if isinstance(data, bytes) else data
        for listener in tuple(self._listeners.get(channel, ())):
            listener.deliver(data)

    async def _read_forever(self) -> None:
        backoff = 0.2
        while True:
            try:
                if self._pubsub.connection is None:
                    # Under the lock: a listener subscribing at the same moment would otherwise make redis-py
                    # open a second connection, subscribe there, and nobody would read it.
                    async with self._lock:
                        if self._pubsub.connection is None:
                            await self._pubsub.subscribe(self._control)
                message = await self._pubsub.get_message(timeout=None)
                if message is not None:
                    self._handle(message)
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down or connection reset: back off and reconnect
                log.warning("chat fan-out lost its Redis connection", **error_fields(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
