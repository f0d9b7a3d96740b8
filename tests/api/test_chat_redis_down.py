"""With Redis down the chat degrades, it does not break: messages are stored, sockets close with 1011."""
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.api.test_chat_rest import new_booking, open_conversation
from tests.support.services import free_port


@pytest.fixture
def server_without_redis(live_api):
    with live_api(redis_url=f"redis://127.0.0.1:{free_port()}/0") as api:  # nothing listens there
        yield api


async def test_messages_are_stored_and_sockets_refuse_cleanly_without_redis(server_without_redis, client, factory):
    booking_id, renter, host = await new_booking(factory)
    conversation_id = await open_conversation(client, booking_id, renter)
    async with httpx.AsyncClient(base_url=server_without_redis.url, trust_env=False) as live:
        resp = await live.post(f"/v1/conversations/{conversation_id}/messages", json={"body": "still here"},
                               headers=renter.headers)
        assert resp.status_code == 201, resp.text
        history = await live.get(f"/v1/conversations/{conversation_id}/messages", headers=host.headers)
        assert [m["body"] for m in history.json()["items"]] == ["still here"]
    for path in ("/v1/ws/ping", f"/v1/ws/conversations/{conversation_id}?token={renter.access_token}"):
        async with connect(server_without_redis.ws_url + path, proxy=None, open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.send("probe")
                await ws.recv()
            assert closed.value.rcvd.code == 1011
