"""The vehicle_ratings refresh: one process at a time (advisory lock), and readers never wait for it."""
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from api.reviews.refresher import ADVISORY_LOCK_KEY, RatingsRefresher


@pytest.fixture
async def pool(api_database):
    async with AsyncConnectionPool(api_database, min_size=1, max_size=3, open=False,
                                   kwargs={"autocommit": True}) as p:
        yield p


async def test_a_process_that_finds_the_lock_taken_keeps_its_vehicles_for_later(pool, api_database):
    invalidated: list[int] = []

    async def invalidate(vehicle_id: int) -> None:
        invalidated.append(vehicle_id)

    refresher = RatingsRefresher(pool, invalidate, debounce_s=0)
    refresher.request(7)
    async with await psycopg.AsyncConnection.connect(api_database) as other:  # "another worker" refreshing
        await other.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
        assert await refresher.refresh_now() is False
        assert invalidated == [] and refresher.refreshes == 0
    assert await refresher.refresh_now() is True  # the other transaction ended: the lock is free
    assert invalidated == [7] and refresher.refreshes == 1


async def test_reads_do_not_wait_for_a_running_refresh(pool, api_database):
    async with await psycopg.AsyncConnection.connect(api_database) as refreshing:
        # A refresh that has not committed yet holds its lock on the view until the transaction ends.
        await refreshing.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY vehicle_ratings")
        async with await psycopg.AsyncConnection.connect(api_database, autocommit=True) as reader:
            await reader.execute("SET lock_timeout = '2s'")
            cur = await reader.execute("SELECT count(*) FROM vehicle_ratings")
            assert (await cur.fetchone())[0] >= 0
        await refreshing.rollback()

