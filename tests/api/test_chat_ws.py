"""The chat WebSocket on two real uvicorn servers sharing one throwaway Redis, and the ping echo;
the session's access-token expiry, also against stub sockets where the ordering has to be exact."""
import asyncio
import contextlib
import json
import time
import uuid
from types import SimpleNamespace

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.auth.tokens import ALGORITHM, ISSUER, Principal, create_access_token, decode_access_token
from api.chat import frames, service
from api.chat.pubsub import Listener
from api.chat.socket import TOKEN_EXPIRED_REASON, ConversationSession
from api.settings import load_settings
from tests.api.conftest import TEST_SETTINGS
from tests.api.support import live_api_process, settings_env
from tests.api.test_chat_rest import new_booking, open_conversation


@pytest.fixture(scope="module")
def two_servers(api_database, api_redis):
    """Two `island-api serve` processes on one database and one Redis, shared by this module's tests
    (starting a server costs seconds on a loaded machine)."""
    env = settings_env(load_settings(**{**TEST_SETTINGS, "database_url": api_database, "redis_url": api_redis}))
    with live_api_process(env) as first, live_api_process(env) as second:
        yield first, second


def ws_connect(url: str, **kwargs):
    return connect(url, proxy=None, open_timeout=10, **kwargs)


async def recv_json(ws, timeout=10.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@contextlib.asynccontextmanager
async def renter_and_host_joined(two_servers, client, factory, renter_token=None):
    """A booking's renter on the first server and its host on the second, both past ``ready``; yields
    (renter socket, host socket, conversation id, renter, host). ``renter_token(renter)``, when given,
    makes the token the renter joins with."""
    first, second = two_servers
    booking_id, renter, host = await new_booking(factory)
    conversation_id = await open_conversation(client, booking_id, renter)
    path = f"/v1/ws/conversations/{conversation_id}"
    token = renter_token(renter) if renter_token else renter.access_token
    async with ws_connect(f"{first.ws_url}{path}?token={token}") as renter_ws, \
            ws_connect(f"{second.ws_url}{path}", additional_headers=host.headers) as host_ws:
        assert await recv_json(renter_ws) == {"type": "ready", "conversation_id": conversation_id}
        assert await recv_json(host_ws) == {"type": "ready", "conversation_id": conversation_id}
        yield renter_ws, host_ws, conversation_id, renter, host


async def closed_with(ws) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None  # the server sent a close frame
    return closed.value.rcvd.code


async def test_a_message_sent_on_one_server_arrives_on_the_other(two_servers, client, factory):
    async with renter_and_host_joined(two_servers, client, factory) as (renter_ws, host_ws, conversation_id,
                                                                        renter, host):
        await renter_ws.send(json.dumps({"type": "message", "body": "Landing at 3pm", "client_id": "m1"}))
        on_host = await recv_json(host_ws)
        assert on_host["type"] == "message" and on_host["message"]["body"] == "Landing at 3pm"
        assert on_host["message"]["sender_id"] == renter.id
        echo = await recv_json(renter_ws)  # the sender's own copy is its acknowledgement
        assert echo["message"]["id"] == on_host["message"]["id"] and echo["message"]["client_id"] == "m1"

        # The other direction, and a message posted over REST reaches both sockets.
        await host_ws.send(json.dumps({"type": "message", "body": "Car is at arrivals"}))
        assert (await recv_json(renter_ws))["message"]["body"] == "Car is at arrivals"
        await recv_json(host_ws)
        resp = await client.post(f"/v1/conversations/{conversation_id}/messages", json={"body": "via REST"},
                                 headers=renter.headers)
        assert resp.status_code == 201
        assert (await recv_json(host_ws))["message"]["body"] == "via REST"
        assert (await recv_json(renter_ws))["message"]["body"] == "via REST"

    history = (await client.get(f"/v1/conversations/{conversation_id}/messages", params={"order": "asc"},
                                headers=host.headers)).json()["items"]
    assert [m["body"] for m in history] == ["Landing at 3pm", "Car is at arrivals", "via REST"]


async def test_malformed_frames_get_error_frames_and_the_socket_stays_open(two_servers, client, factory):
    first, _ = two_servers
    booking_id, renter, _ = await new_booking(factory)
    conversation_id = await open_conversation(client, booking_id, renter)
    url = f"{first.ws_url}/v1/ws/conversations/{conversation_id}"
    async with ws_connect(url, subprotocols=["bearer", renter.access_token]) as ws:
        assert ws.subprotocol == "bearer"
        await recv_json(ws)
        for frame, code in (("{not json", "invalid_json"), ('{"type": "message", "body": ""}', "invalid_body"),
                            (json.dumps({"type": "message", "body": "x" * 2001}), "body_too_long"),
                            (b"\x00\x01", "binary_frame")):
            await ws.send(frame)
            reply = await recv_json(ws)
            assert reply["type"] == "error" and reply["error"]["code"] == code
        await ws.send('{"type": "ping"}')
        assert await recv_json(ws) == {"type": "pong"}


async def test_bad_token_and_non_participant_are_closed_with_4401_and_4403(two_servers, client, factory):
    first, _ = two_servers
    booking_id, renter, _ = await new_booking(factory)
    stranger = await factory.renter()
    conversation_id = await open_conversation(client, booking_id, renter)
    url = f"{first.ws_url}/v1/ws/conversations/{conversation_id}"
    tampered = renter.access_token[:-3] + ("abc" if not renter.access_token.endswith("abc") else "xyz")
    for query in ("", f"?token={tampered}", "?token=garbage"):
        async with ws_connect(url + query) as ws:
            assert await closed_with(ws) == 4401
    async with ws_connect(f"{url}?token={stranger.access_token}") as ws:
        assert await closed_with(ws) == 4403
    async with ws_connect(f"{first.ws_url}/v1/ws/conversations/999999999?token={renter.access_token}") as ws:
        assert await closed_with(ws) == 4404


async def test_ping_echoes_through_redis_with_bounds(two_servers):
    first, _ = two_servers
    async with ws_connect(f"{first.ws_url}/v1/ws/ping") as ws:
        for text in ("hello", "x" * 1024, "ünïcødé"):
            await ws.send(text)
            assert await asyncio.wait_for(ws.recv(), 10) == text
        await ws.send("x" * 1025)
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["error"]["code"] == "frame_too_large"
        for _ in range(40):  # far past the burst: some frames are refused, the socket stays open
            await ws.send("flood")
        replies = [await asyncio.wait_for(ws.recv(), 10) for _ in range(40)]
        refused = [r for r in replies if r != "flood"]
        assert refused and all(json.loads(r)["error"]["code"] == "rate_limited" for r in refused)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def test_websocket_connections_and_messages_are_measured(two_servers, client, factory):
    first, _ = two_servers
    booking_id, renter, _ = await new_booking(factory)
    conversation_id = await open_conversation(client, booking_id, renter)
    async with httpx.AsyncClient(base_url=first.url, trust_env=False) as live:
        before = (await live.get("/metrics")).text
        async with ws_connect(f"{first.ws_url}/v1/ws/conversations/{conversation_id}?token={renter.access_token}") as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"type": "message", "body": "counted"}))
            await recv_json(ws)
            during = (await live.get("/metrics")).text
    for direction in ("in", "out"):
        name = "island_websocket_messages_total"
        assert metric(during, name, direction=direction) >= metric(before, name, direction=direction) + 1
    assert metric(during, "island_websocket_connections") >= 1


async def test_an_oversize_frame_is_refused_by_the_server_limit(two_servers):
    first, _ = two_servers
    async with ws_connect(f"{first.ws_url}/v1/ws/ping", max_size=None) as ws:
        await ws.send("x" * (64 * 1024 + 1))  # above `island-api serve`'s ws_max_size
        assert await closed_with(ws) == 1009


def token_expiring_in(user, seconds: int) -> str:
    """An access token for ``user`` with the claims create_access_token makes, but a short life
    (Settings refuses an access_token_ttl_s below 10 s)."""
    now = int(time.time())
    claims = {"sub": str(user.id), "role": user.role, "premium": user.premium, "iat": now,
              "exp": now + seconds, "jti": uuid.uuid4().hex, "iss": ISSUER}
    return jwt.encode(claims, str(TEST_SETTINGS["jwt_secret"]), algorithm=ALGORITHM)


def test_the_principal_carries_the_token_expiry():
    settings = load_settings(**TEST_SETTINGS)
    token = create_access_token(settings, 42, "renter", False)
    exp = jwt.decode(token, settings.jwt_secret, algorithms=[ALGORITHM], issuer=ISSUER)["exp"]
    assert decode_access_token(settings, token).expires_at == exp
    assert Principal(user_id=1, role="host", premium=False).expires_at == float("inf")


async def test_the_socket_is_closed_with_4401_when_its_access_token_expires(two_servers, client, factory):
    # 2-3 s of validity: enough to join (the servers are already up), short enough to wait out.
    async with renter_and_host_joined(two_servers, client, factory,
                                      renter_token=lambda renter: token_expiring_in(renter, 3)) as joined:
        renter_ws, host_ws = joined[:2]
        with pytest.raises(ConnectionClosed) as closed:  # nothing is posted: only the expiry ends it
            await asyncio.wait_for(renter_ws.recv(), 30)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, TOKEN_EXPIRED_REASON)

        # The host's socket, opened with a token valid for the whole test, is still open and served.
        await host_ws.send(json.dumps({"type": "ping"}))
        assert await recv_json(host_ws) == {"type": "pong"}
        await host_ws.send(json.dumps({"type": "message", "body": "still here"}))
        assert (await recv_json(host_ws))["message"]["body"] == "still here"


class StubSocket:
    """What ConversationSession uses of a Starlette WebSocket: frames to receive, sends and the close
    recorded, and an app whose Redis fan-out never delivers and whose pool counts connections."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[dict] = asyncio.Queue()
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.connections = 0
        self.app = SimpleNamespace(state=SimpleNamespace(settings=load_settings(**TEST_SETTINGS),
                                                         chat_fanout=self, pool=self))

    def frame(self, body: str) -> None:
        self.incoming.put_nowait({"type": "websocket.receive", "text": json.dumps({"type": "message", "body": body})})

    async def receive(self) -> dict:
        return await self.incoming.get()

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def channel(self, name: str) -> str:  # the fan-out
        return name

    @contextlib.asynccontextmanager
    async def listen(self, channel: str):
        yield Listener(channel)

    @contextlib.asynccontextmanager
    async def connection(self):  # the pool
        self.connections += 1
        yield object()


@pytest.fixture
def stored(monkeypatch) -> list[str]:
    """Bodies the session stored (service.post_message replaced: no database behind the stub)."""
    bodies: list[str] = []

    async def post_message(conn, fanout, conversation_id, sender_id, body, client_id=None):
        bodies.append(body)
        return {}

    monkeypatch.setattr(service, "post_message", post_message)
    return bodies


async def test_a_frame_arriving_after_the_expiry_is_not_stored(stored):
    ws = StubSocket()
    ws.frame("too late")  # waiting before the session starts: the reader takes it first
    expired = Principal(user_id=1, role="renter", premium=False, expires_at=time.time() - 1)
    await asyncio.wait_for(ConversationSession(ws, 7, expired).run(), 10)
    assert ws.closed == (4401, TOKEN_EXPIRED_REASON)
    assert stored == [] and ws.connections == 0
    assert ws.sent == [frames.ready_frame(7)]


async def test_a_frame_before_the_expiry_is_stored_and_the_session_ends_with_the_client(stored):
    ws = StubSocket()
    ws.frame("in time")
    ws.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
    valid = Principal(user_id=1, role="renter", premium=False, expires_at=time.time() + 3600)
    await asyncio.wait_for(ConversationSession(ws, 7, valid).run(), 10)
    assert stored == ["in time"] and ws.closed is None


async def test_a_message_being_stored_when_the_token_expires_is_stored_whole(monkeypatch):
    started, release, stored = asyncio.Event(), asyncio.Event(), []

    async def slow_post_message(conn, fanout, conversation_id, sender_id, body, client_id=None):
        started.set()
        await release.wait()
        stored.append(body)
        return {}

    monkeypatch.setattr(service, "post_message", slow_post_message)
    ws = StubSocket()
    ws.frame("sent in time")
    user = Principal(user_id=1, role="renter", premium=False, expires_at=time.time() + 3)
    session = asyncio.create_task(ConversationSession(ws, 7, user).run())
    try:
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(max(user.expires_at - time.time(), 0) + 0.5)  # expired while being stored
        assert not session.done() and ws.closed is None  # the expiry waits for the store
        release.set()
        await asyncio.wait_for(session, 10)
    finally:
        session.cancel()
    assert stored == ["sent in time"] and ws.closed == (4401, TOKEN_EXPIRED_REASON)
