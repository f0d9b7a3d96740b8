"""The websocket check against a websockets echo server (in the test's loop) that can require a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from checks import websocket
from checks.base import Deadline, Status
from tests.support.services import free_port

TOKEN = "ws-t0ken-abcdef123456"


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        if message == "boom":
            await ws.close(1011, "internal error on purpose")
            return
        await ws.send(f"echo: {message}")


def _require_token(connection: ServerConnection, request: Request) -> Response | None:
    """``/private`` needs the token, as a bearer header or ``?token=``; anything else is open."""
    url = urlsplit(request.path)
    if url.path != "/private":
        return None
    header = request.headers.get("Authorization")
    query = parse_qs(url.query).get("token", [None])[0]
    if header == f"Bearer {TOKEN}" or query == TOKEN:
        return None
    return connection.respond(HTTPStatus.UNAUTHORIZED, "token required\n")


@pytest.fixture
async def ws_base() -> AsyncIterator[str]:
    async with serve(_echo, "127.0.0.1", 0, process_request=_require_token) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def test_ping_pong(ws_base: str) -> None:
    result = await websocket.run(f"{ws_base}/v1/ws/ping", websocket.Options(), Deadline(2))
    assert result.status is Status.PASS and result.output.startswith("pong in")
    assert result.observed_unit == "s" and result.measurements["connect_s"] > 0


async def test_message_round_trip(ws_base: str) -> None:
    options = websocket.Options(send="hello", expect="^echo: hello$")
    result = await websocket.run(f"{ws_base}/", options, Deadline(2))
    assert result.status is Status.PASS and result.output.startswith("reply in")
    mismatch = await websocket.run(
        f"{ws_base}/", websocket.Options(send="x", expect="^nope", max_messages=1), Deadline(2)
    )
    assert mismatch.status is Status.FAIL and "no reply matching /^nope/" in mismatch.output


async def test_token_as_header_or_query_and_never_in_output(ws_base: str) -> None:
    denied = await websocket.run(f"{ws_base}/private", websocket.Options(), Deadline(2))
    assert denied.status is Status.FAIL and "HTTP 401" in denied.output
    bearer = await websocket.run(f"{ws_base}/private", websocket.Options(bearer_token=TOKEN), Deadline(2))
    assert bearer.status is Status.PASS, bearer.output
    query = await websocket.run(f"{ws_base}/private", websocket.Options(query_token=TOKEN), Deadline(2))
    assert query.status is Status.PASS, query.output
    wrong = await websocket.run(f"{ws_base}/private?token={TOKEN}x", websocket.Options(), Deadline(2))
    assert wrong.status is Status.FAIL and TOKEN not in wrong.output


async def test_refused_and_bad_target() -> None:
    refused = await websocket.run(f"ws://127.0.0.1:{free_port()}/", websocket.Options(), Deadline(2))
    assert refused.status is Status.FAIL and refused.output == "handshake: connection refused"
    bad = await websocket.run("http://127.0.0.1/", websocket.Options(), Deadline(2))
    assert bad.status is Status.FAIL and "ws://" in bad.output


async def test_server_closing_mid_round_trip_names_the_step(ws_base: str) -> None:
    result = await websocket.run(f"{ws_base}/", websocket.Options(send="boom", expect="."), Deadline(2))
    assert result.status is Status.FAIL and result.output.startswith("receive: ")
    assert "1011" in result.output and result.measurements["connect_s"] > 0
