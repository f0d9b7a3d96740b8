"""``/v1/ws/ping``: an unauthenticated echo WebSocket for monitoring.

Each text frame goes out through Redis pub/sub (a channel private to the connection) and is sent back
only once it has come back from Redis, so the agent's websocket check proves the whole chat path
(WebSocket handling, Redis publish, the process' subscriber connection) rather than just an open port.
Frames are bounded (``MAX_PING_CHARS``) and rate limited per connection; refused frames get an error
frame. When Redis does not echo within ``ECHO_TIMEOUT_S`` the socket closes with 1011.
"""
from __future__ import annotations

import asyncio
import contextlib
import uuid

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.chat import frames
from api.chat.rate import TokenBucket
from api.log_fields import error_fields
from exporters import instruments

log = structlog.get_logger("api.chat")


MAX_PING_CHARS = 1_024
ECHO_TIMEOUT_S = 5.0
PING_FRAMES_PER_S = 10.0
PING_BURST = 20
MAX_STRIKES = 50


async def serve_ping(ws: WebSocket) -> None:
    """Echo each text frame after a round trip through Redis pub/sub."""
    await ws.accept()
    instruments.websocket_opened()
    fanout = ws.app.state.chat_fanout
    channel = fanout.channel(f"ws-ping:{uuid.uuid4().hex}")
    bucket = TokenBucket(PING_FRAMES_PER_S, PING_BURST)
    strikes = 0
    try:
        async with fanout.listen(channel) as listener:
            while True:
                text = await _next_text(ws)
                if text is None:
                    continue
                if len(text) > MAX_PING_CHARS:
                    await ws.send_text(frames.error_frame("frame_too_large",
                                                          f"ping frames are at most {MAX_PING_CHARS} characters"))
                    continue
                if not bucket.take():
                    strikes += 1
                    if strikes > MAX_STRIKES:
                        await ws.close(1008, "frame rate limit exceeded")
                        return
                    await ws.send_text(frames.error_frame("rate_limited", "too many frames, slow down"))
                    continue
                strikes = 0
                await fanout.publish(channel, text)
                echoed = await asyncio.wait_for(listener.get(), ECHO_TIMEOUT_S)
                await ws.send_text(echoed)
    except WebSocketDisconnect:
        pass
    except Exception as exc:  # noqa: BLE001 - Redis down or too slow: the probe must see a failure
        log.warning("ping socket failed", **error_fields(exc))
        with contextlib.suppress(Exception):
            await ws.close(1011, "redis round trip failed")
    finally:
        instruments.websocket_closed()


async def _next_text(ws: WebSocket) -> str | None:
    """The next text frame; None (after an error frame) for a binary one; raises on disconnect."""
    event = await ws.receive()
    if event["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(event.get("code", 1000))
    if event.get("text") is None:
        await ws.send_text(frames.error_frame("binary_frame", "send text frames"))
        return None
    return event["text"]
