"""The date sweeper: pending → expired when unpaid in time, confirmed → active at pick-up, active →
completed at return; rows locked by a payment in progress are skipped, not waited for."""
import asyncio
import datetime as dt

import psycopg
import pytest
from psycopg.rows import dict_row

from api.bookings.refunds import pickup_at, return_at
from api.bookings.sweeper import sweep_once
from tests.api.booking_helpers import book, stay


@pytest.fixture
async def conn(settings):
    async with await psycopg.AsyncConnection.connect(settings.database_url, autocommit=True,
                                                     row_factory=dict_row) as c:
        yield c


async def status(factory, booking_id: int) -> str:
    return (await factory.sql("SELECT status FROM bookings WHERE id = %s", (booking_id,)))[0][0]


async def test_unpaid_booking_expires_and_frees_the_dates(client, factory, conn):
    vehicle = await factory.vehicle()
    renter = await factory.renter()
    booking = await book(client, renter, vehicle)
    expires = dt.datetime.fromisoformat(booking["expires_at"])
    before = await sweep_once(conn, now=expires - dt.timedelta(seconds=1))
    assert booking["id"] not in [t.booking_id for t in before]
    after = await sweep_once(conn, now=expires + dt.timedelta(seconds=1))
    assert [(t.from_status, t.to_status) for t in after if t.booking_id == booking["id"]] == [("pending", "expired")]
    assert await status(factory, booking["id"]) == "expired"
    events = await factory.sql("SELECT to_status, actor_role FROM booking_events WHERE booking_id = %s ORDER BY id",
                               (booking["id"],))
    assert events[-1] == ("expired", "system")
    resp = await client.post("/v1/bookings", json=stay(vehicle), headers=(await factory.renter()).headers)
    assert resp.status_code == 201


async def test_confirmed_becomes_active_then_completed_by_the_clock(client, factory, conn):
    vehicle = await factory.vehicle()
    booking = await book(client, await factory.renter(), vehicle, start_in=5, nights=2)
    await factory.sql("UPDATE bookings SET status = 'confirmed', expires_at = NULL WHERE id = %s", (booking["id"],))
    start = pickup_at(dt.date.fromisoformat(booking["start_date"]), "America/Nassau")
    end = return_at(dt.date.fromisoformat(booking["end_date"]), "America/Nassau")
    await sweep_once(conn, now=start - dt.timedelta(minutes=1))
    assert await status(factory, booking["id"]) == "confirmed"
    await sweep_once(conn, now=start + dt.timedelta(minutes=1))
    assert await status(factory, booking["id"]) == "active"
    await sweep_once(conn, now=end - dt.timedelta(minutes=1))
    assert await status(factory, booking["id"]) == "active"
    await sweep_once(conn, now=end + dt.timedelta(minutes=1))
    assert await status(factory, booking["id"]) == "completed"


async def test_locked_booking_is_skipped_until_released(client, factory, conn, settings):
    booking = await book(client, await factory.renter(), await factory.vehicle())
    later = dt.datetime.fromisoformat(booking["expires_at"]) + dt.timedelta(minutes=1)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM bookings WHERE id = %s FOR UPDATE", (booking["id"],))
        skipped = await sweep_once(conn, now=later)  # would block forever without SKIP LOCKED
        assert booking["id"] not in [t.booking_id for t in skipped]
    assert await status(factory, booking["id"]) == "pending"
    await sweep_once(conn, now=later)
    assert await status(factory, booking["id"]) == "expired"


async def test_the_app_runs_the_sweeper(client, factory, make_app):
    """Wiring: an app started with a short BOOKING_SWEEP_INTERVAL_S expires an overdue booking by itself,
    and its shutdown does not wait for the next pass."""
    booking = await book(client, await factory.renter(), await factory.vehicle())
    await factory.sql("UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = %s", (booking["id"],))
    async with make_app(booking_sweep_interval_s=0.2):
        for _ in range(100):
            if await status(factory, booking["id"]) == "expired":
                break
            await asyncio.sleep(0.05)
    assert await status(factory, booking["id"]) == "expired"
