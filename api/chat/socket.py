"""The chat WebSocket ``/v1/ws/conversations/{id}``: one session per connected client.

Authentication, from the handshake (browsers cannot set headers on a WebSocket, hence the options):
the ``token`` query parameter, an ``Authorization: Bearer`` header, or the subprotocols
``Sec-WebSocket-Protocol: bearer, <token>`` (the server then selects ``bearer``). The socket is
accepted first so the refusal can carry a reason the client can act on:

- 4401: missing, tampered or expired token; 4403: not the renter or host; 4404: no such conversation;
- 4401 again, later, with the reason ``access token expired: reconnect with a fresh token``: the token
  the socket was opened with has passed its ``exp`` (the socket does not outlive its credential; the
  client refreshes and reconnects, then reloads what it missed over REST);
- 1013: this client fell too far behind the conversation (reconnect and reload history over REST);
- 1008: the client kept exceeding the frame rate limit; 1011: Redis or Postgres unavailable.

Once joined, the server sends ``{"type": "ready", "conversation_id": N}``, then every message of the
conversation as it is posted from any API process (see ``frames`` for the client's frames).
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import time

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.auth.tokens import InvalidToken, Principal, decode_access_token
from api.chat import frames, service
from api.chat.pubsub import Listener
from api.chat.rate import TokenBucket
from api.log_fields import error_fields
from exporters import instruments

log = structlog.get_logger("api.chat")


# After this many refused frames in a row for exceeding the rate, the client is cut off (1008).
MAX_RATE_STRIKES = 50

TOKEN_EXPIRED_CODE = 4401
TOKEN_EXPIRED_REASON = "access token expired: reconnect with a fresh token"


class TokenExpired(Exception):
    """The access token the session was opened with has expired: the session ends with 4401."""


def token_from_handshake(ws: WebSocket) -> tuple[str | None, str | None]:
    """(token, subprotocol to select) from the query string, Authorization header or subprotocols."""
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    subprotocol = "bearer" if "bearer" in offered else None
    if token := ws.query_params.get("token"):
        return token, subprotocol
    scheme, _, credentials = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), subprotocol
    if subprotocol is not None:
        index = offered.index("bearer")
        if index + 1 < len(offered):
            return offered[index + 1], subprotocol
    return None, subprotocol


def authenticate(ws: WebSocket, token: str | None) -> Principal | None:
    if not token:
        return None
    try:
        return decode_access_token(ws.app.state.settings, token)
    except InvalidToken:
        return None


class ConversationSession:
    """Pumps client frames into Postgres + Redis, and Redis messages out to the client."""

    def __init__(self, ws: WebSocket, conversation_id: int, user: Principal) -> None:
        self.ws = ws
        self.conversation_id = conversation_id
        self.user = user
        settings = ws.app.state.settings
        self.bucket = TokenBucket(settings.chat_frames_per_s, settings.chat_frame_burst)
        self._send_lock = asyncio.Lock()  # the reader (error frames) and writer (messages) both send
        # Held while a message is stored, and by the expiry before it ends the session: a message that
        # arrived before the expiry is stored and published whole, none that arrives after is stored.
        self._store_lock = asyncio.Lock()
        self._expired = False

    def token_expired(self) -> bool:
        """True once the access token's ``exp`` has passed (by the clock or the expiry task)."""
        return self._expired or time.time() >= self.user.expires_at

    async def send(self, text: str) -> None:
        async with self._send_lock:
            await self.ws.send_text(text)

    async def run(self) -> None:
        fanout = self.ws.app.state.chat_fanout
        async with fanout.listen(service.conversation_channel(fanout, self.conversation_id)) as listener:
            await self.send(frames.ready_frame(self.conversation_id))
            reader = asyncio.create_task(self._from_client())
            writer = asyncio.create_task(self._to_client(listener))
            expiry = asyncio.create_task(self._expire())
            tasks = (reader, writer, expiry)
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:  # also when this session is cancelled (server shutdown): never leave a task behind
                for task in tasks:
                    if not task.done():
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                            await task
            # The reader and the expiry task may both end on the expiry (a frame arrives as the token
            # expires): the socket is closed once.
            if any(isinstance(task.exception(), TokenExpired) for task in done):
                log.info("chat socket closed: access token expired", conversation_id=self.conversation_id,
                         user_id=self.user.user_id)
                await self.ws.close(TOKEN_EXPIRED_CODE, TOKEN_EXPIRED_REASON)
                return
            for task in done:
                exc = task.exception()
                if isinstance(exc, OverflowError):
                    await self.ws.close(1013, "too far behind: reconnect and reload history")
                elif exc is not None and not isinstance(exc, WebSocketDisconnect):
                    raise exc

    async def _expire(self) -> None:
        """Sleep until the access token expires (once, no polling), then end the session."""
        delay = self.user.expires_at - time.time()
        if math.isfinite(delay):
            await asyncio.sleep(max(delay, 0.0))
        else:  # a principal without an expiry: the session never expires
            await asyncio.Event().wait()
        async with self._store_lock:  # let a message received before the expiry finish storing
            self._expired = True
        raise TokenExpired

    async def _to_client(self, listener: Listener) -> None:
        while True:
            await self.send(await listener.get())
            instruments.websocket_message("out")

    async def _from_client(self) -> None:
        strikes = 0
        while True:
            event = await self.ws.receive()
            if event["type"] == "websocket.disconnect":
                return
            if self.token_expired():  # a frame after the expiry is refused even if the expiry task is late
                raise TokenExpired
            text = event.get("text")
            if text is None:
                await self.send(frames.error_frame("binary_frame", "send JSON text frames"))
                continue
            if not self.bucket.take():
                strikes += 1
                if strikes > MAX_RATE_STRIKES:
                    await self.ws.close(1008, "frame rate limit exceeded")
                    return
                await self.send(frames.error_frame("rate_limited", "too many frames, slow down"))
                continue
            strikes = 0
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            frame = frames.parse_frame(text)
        except frames.FrameError as exc:
            await self.send(frames.error_frame(exc.code, str(exc)))
            return
        instruments.websocket_message("in")
        if isinstance(frame, frames.Ping):
            await self.send(frames.PONG)
            return
        app = self.ws.app
        try:
            async with self._store_lock:
                if self.token_expired():  # expired while this frame was parsed or waiting for the lock
                    raise TokenExpired
                async with app.state.pool.connection() as conn:
                    await service.post_message(conn, app.state.chat_fanout, self.conversation_id,
                                               self.user.user_id, frame.body, frame.client_id)
        except TokenExpired:
            raise
        except Exception as exc:  # noqa: BLE001 - the database is unavailable: tell the client, keep the socket
            log.warning("chat message could not be stored", conversation_id=self.conversation_id,
                        **error_fields(exc))
            await self.send(frames.error_frame("unavailable", "message not stored, retry later"))


async def serve_conversation(ws: WebSocket, conversation_id: int) -> None:
    """Accept, authenticate and authorise, then run the session until either side closes."""
    token, subprotocol = token_from_handshake(ws)
    await ws.accept(subprotocol=subprotocol)
    instruments.websocket_opened()
    try:
        user = authenticate(ws, token)
        if user is None:
            await ws.close(4401, "missing, invalid or expired token")
            return
        code = await _authorise(ws, conversation_id, user.user_id)
        if code is not None:
            await ws.close(code, {4403: "not a participant", 4404: "no such conversation",
                                  1011: "service unavailable"}[code])
            return
        try:
            await ConversationSession(ws, conversation_id, user).run()
        except WebSocketDisconnect:
            pass
        except Exception as exc:  # noqa: BLE001 - Redis down while joining: close cleanly, not a 500 trace
            log.warning("chat socket failed", conversation_id=conversation_id, **error_fields(exc))
            with contextlib.suppress(Exception):
                await ws.close(1011, "service unavailable")
    finally:
        instruments.websocket_closed()


async def _authorise(ws: WebSocket, conversation_id: int, user_id: int) -> int | None:
    """None when ``user_id`` may join, else the close code."""
    try:
        async with ws.app.state.pool.connection() as conn:
            await service.check_participant(conn, conversation_id, user_id)
    except service.UnknownConversation:
        return 4404
    except service.NotParticipant:
        return 4403
    except Exception as exc:  # noqa: BLE001 - database down
        log.warning("chat socket could not check the conversation", **error_fields(exc))
        return 1011
    return None
