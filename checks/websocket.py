"""WebSocket: open the connection (optionally with a token), then a ping/pong or a message round trip.

The target is a ws:// or wss:// URL (the API's monitoring echo socket is ``/v1/ws/ping``). By default
the check sends a WebSocket ping and waits for the pong; with ``send`` it sends that text and waits for
a message matching ``expect``. A rejected handshake fails with its HTTP status ("HTTP 401").
Observed value: the round trip (pong or reply) in seconds.
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import websockets
from pydantic import Field, SecretStr
from websockets.asyncio.client import ClientConnection, connect

from checks.base import CheckResult, Deadline, RegexPattern, Status
from checks.certificates import TlsClientOptions, client_context, peer_not_after
from checks.guard import TargetError, guarded


class WebSocketOptions(TlsClientOptions):
    """Options of the ``websocket`` check."""

    bearer_token: SecretStr | None = Field(default=None, description="sent as Authorization: Bearer ...")
    query_token: SecretStr | None = Field(
        default=None,
        description="added to the URL as ?<query_param>=... (for clients that cannot set headers)",
    )
    query_param: str = Field(default="token", description="name of the query parameter carrying query_token")
    headers: dict[str, str] = Field(default_factory=dict, description="extra handshake headers")
    send: str | None = Field(default=None, description="text message to send instead of a ping")
    expect: RegexPattern = Field(default="", description="regex the reply to ``send`` must match")
    max_messages: int = Field(default=10, ge=1, description="replies read while looking for a match")


Options = WebSocketOptions  # the name every check module exposes


def _url(target: str, options: WebSocketOptions) -> str:
    try:
        parts = urlsplit(target)
        host = parts.hostname
    except ValueError as exc:
        raise TargetError(f"target is not a valid URL ({exc})") from None
    if parts.scheme not in ("ws", "wss") or not host:
        raise TargetError(f"target must be a ws:// or wss:// URL with a host, got {target!r}")
    if options.query_token is None:
        return target
    query = [*parse_qsl(parts.query), (options.query_param, options.query_token.get_secret_value())]
    return urlunsplit(parts._replace(query=urlencode(query)))


@guarded(websockets.exceptions.WebSocketException)
async def run(target: str, options: WebSocketOptions, deadline: Deadline) -> CheckResult:
    """Connect to ``target`` and do one round trip, all within ``deadline``."""
    url = _url(target, options)
    headers = dict(options.headers)
    if options.bearer_token is not None:
        headers["Authorization"] = f"Bearer {options.bearer_token.get_secret_value()}"
    kwargs: dict[str, Any] = {"ssl": client_context(options)} if url.startswith("wss:") else {}
    started = time.monotonic()
    ws = await deadline.run(
        "handshake",
        connect(
            url,
            additional_headers=headers,
            proxy=None,
            open_timeout=None,
            ping_interval=None,
            close_timeout=None,
            user_agent_header="island-health-check",
            **kwargs,
        ),
    )
    try:
        connect_s = deadline.partial["connect_s"] = time.monotonic() - started
        ssl_object = ws.transport.get_extra_info("ssl_object")
        round_trip_started = time.monotonic()
        what = await _round_trip(ws, options, deadline)
        round_trip = time.monotonic() - round_trip_started
    finally:
        await _close(ws, deadline)
    if what is None:
        return CheckResult(
            Status.FAIL,
            f"no reply matching /{options.expect}/ in {options.max_messages} messages",
            measurements={"connect_s": connect_s},
        )
    return CheckResult(
        Status.PASS,
        f"{what} in {round_trip * 1000:.1f} ms (handshake {connect_s * 1000:.1f} ms)",
        observed_value=round_trip,
        observed_unit="s",
        measurements={"connect_s": connect_s, "round_trip_s": round_trip},
        tls_not_after=peer_not_after(ssl_object),
    )


async def _round_trip(ws: ClientConnection, options: WebSocketOptions, deadline: Deadline) -> str | None:
    """Return "pong" or "reply" on success, None when no reply matched."""
    if options.send is None:
        pong = await deadline.run("ping", ws.ping())
        await deadline.run("pong", pong)
        return "pong"
    await deadline.run("send", ws.send(options.send))
    pattern = re.compile(options.expect)
    for _ in range(options.max_messages):
        message = await deadline.run("receive", ws.recv())
        text = message if isinstance(message, str) else message.decode("utf-8", errors="replace")
        if pattern.search(text):
            return "reply"
    return None


async def _close(ws: ClientConnection, deadline: Deadline) -> None:
    """Close politely if the deadline allows; a peer that ignores the close frame is simply dropped.

    Not a ``deadline.run`` step: this runs in a ``finally`` and must not rename the step that failed.
    """
    with suppress(TimeoutError, websockets.exceptions.WebSocketException, OSError):
        async with asyncio.timeout(deadline.remaining()):
            await ws.close()
    ws.transport.abort()
