"""Redis pub/sub fan-out between two Fanout instances (two "processes") on a throwaway redis-server."""
import asyncio

import pytest
import redis.asyncio as redis

from api.chat.pubsub import LISTENER_QUEUE_SIZE, Fanout
from tests.support.services import redis_server, redis_url


@pytest.fixture
async def two_fanouts():
    with redis_server() as srv:
        clients = [redis.Redis.from_url(redis_url(srv)) for _ in range(2)]
        fanouts = [Fanout(c, prefix="t:") for c in clients]
        for f in fanouts:
            f.start()
        try:
            yield fanouts, srv
        finally:
            for f in fanouts:
                await f.stop()
            for c in clients:
                await c.aclose()


async def _until_subscribed(fanout: Fanout, channel: str, receivers: int = 1) -> None:
    for _ in range(300):
        try:
            counts = dict(await fanout.client.pubsub_numsub(channel))
        except redis.ConnectionError:  # this client's pooled connection died with the server
            counts = {}
        if counts.get(channel.encode(), 0) >= receivers:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{channel} never got {receivers} subscriber(s)")


async def test_a_message_published_by_one_process_reaches_listeners_of_the_other(two_fanouts):
    (a, b), _ = two_fanouts
    channel = a.channel("conversation:1")
    # No waiting: listen() returns once Redis confirmed the subscription, right after start().
    async with a.listen(channel) as first, a.listen(channel) as second, b.listen(a.channel("other")) as other:
        assert await b.publish(channel, "hello") == 1  # ONE subscriber connection for two local listeners
        assert await asyncio.wait_for(first.get(), 5) == "hello"
        assert await asyncio.wait_for(second.get(), 5) == "hello"
        assert other.queue.empty()
    counts = dict(await b.client.pubsub_numsub(channel))
    assert counts[channel.encode()] == 0  # the last listener leaving unsubscribed the channel


async def test_a_listener_that_falls_behind_is_flagged_not_grown(two_fanouts):
    (a, b), _ = two_fanouts
    channel = a.channel("conversation:2")
    async with a.listen(channel) as slow:
        for i in range(LISTENER_QUEUE_SIZE + 5):
            await b.publish(channel, str(i))
        for _ in range(200):
            if slow.overflowed:
                break
            await asyncio.sleep(0.01)
        assert slow.overflowed and slow.queue.qsize() <= LISTENER_QUEUE_SIZE
        with pytest.raises(OverflowError):
            for _ in range(LISTENER_QUEUE_SIZE + 1):
                await asyncio.wait_for(slow.get(), 5)


async def test_the_reader_resubscribes_after_redis_restarts(two_fanouts):
    (a, b), srv = two_fanouts
    channel = a.channel("conversation:3")
    async with a.listen(channel) as listener:
        await _until_subscribed(b, channel)
        srv.stop()
        await asyncio.sleep(0.3)
        srv.start()
        await _until_subscribed(b, channel)
        await b.publish(channel, "after restart")
        assert await asyncio.wait_for(listener.get(), 10) == "after restart"


async def test_listening_right_after_start_never_loses_the_first_message():
    """Regression: a listener subscribing while the reader connects must not end up on an unread connection."""
    with redis_server() as srv:
        publisher = redis.Redis.from_url(redis_url(srv))
        for i in range(10):
            client = redis.Redis.from_url(redis_url(srv))
            fanout = Fanout(client, prefix="r:")
            fanout.start()
            try:
                async with fanout.listen(fanout.channel(f"c{i}")) as listener:
                    await publisher.publish(fanout.channel(f"c{i}"), "first")
                    assert await asyncio.wait_for(listener.get(), 5) == "first"
            finally:
                await fanout.stop()
                await client.aclose()
        await publisher.aclose()
