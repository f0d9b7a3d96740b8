"""Cancellation over HTTP: the refund table, refunds issued in localstripe, e-mail, dates released."""
import datetime as dt

import httpx
import pytest

from api.bookings.refunds import PICKUP_TIME
from tests.api.booking_helpers import NASSAU, WEBHOOK_SECRET, assert_error, book, paid_booking


@pytest.fixture
def settings_overrides(localstripe_url):
    return {"stripe_api_base": localstripe_url, "stripe_webhook_secret": WEBHOOK_SECRET}


@pytest.fixture
async def parties(factory):
    host = await factory.host()
    return host, await factory.renter(), await factory.vehicle(host)


def next_pickup_date() -> dt.date:
    """The start date whose pick-up (10:00 on Nassau's clock) is the next one: always within 24 h."""
    now = dt.datetime.now(NASSAU)
    return now.date() if now.time() < PICKUP_TIME else now.date() + dt.timedelta(days=1)


async def move_dates(factory, booking_id: int, start: dt.date, nights: int = 3) -> None:
    await factory.sql("UPDATE bookings SET start_date = %s, end_date = %s WHERE id = %s",
                      (start, start + dt.timedelta(days=nights), booking_id))


async def refund_in_stripe(localstripe_url: str, refund_id: str) -> dict:
    async with httpx.AsyncClient() as c:
        resp = await c.get(f"{localstripe_url}/v1/refunds/{refund_id}", auth=("sk_test_12345", ""))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def cancel(client, who, booking_id, reason=None):
    return await client.post(f"/v1/bookings/{booking_id}/cancel", json={"reason": reason} if reason else None,
                             headers=who.headers)


@pytest.mark.parametrize("who, start, pct", [
    ("renter", "far", 100),
    ("renter", "within_24h", 50),
    ("renter", "started", 0),
    ("host", "far", 100),
    ("host", "within_24h", 100),
])
async def test_refund_table(client, factory, localstripe_url, parties, who, start, pct):
    host, renter, vehicle = parties
    booking = await paid_booking(client, renter, vehicle, start_in=10)
    if start == "within_24h":
        await move_dates(factory, booking["id"], next_pickup_date())
    elif start == "started":
        await move_dates(factory, booking["id"], dt.datetime.now(NASSAU).date() - dt.timedelta(days=1))
    resp = await cancel(client, renter if who == "renter" else host, booking["id"], "plans changed")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    total = booking["price"]["total_cents"]
    expected = (total * pct + 50) // 100
    assert (body["status"], body["cancelled_by"], body["refund_pct"], body["refund_cents"]) == (
        "cancelled", who, pct, expected)
    refunds = await factory.sql("SELECT provider_id, amount_cents FROM payments WHERE booking_id = %s AND kind = "
                                "'refund'", (booking["id"],))
    if pct == 0:
        assert refunds == []
        return
    assert [r[1] for r in refunds] == [expected]
    in_stripe = await refund_in_stripe(localstripe_url, refunds[0][0])
    assert in_stripe["amount"] == expected and in_stripe["status"] == "succeeded"
    mails = await factory.sql("SELECT kind FROM email_outbox WHERE to_address = %s ORDER BY id", (renter.email,))
    assert [m[0] for m in mails] == ["booking_confirmed", "booking_cancelled"]


async def test_unpaid_booking_cancels_without_refund_and_frees_dates(client, factory, parties):
    _, renter, vehicle = parties
    booking = await book(client, renter, vehicle)
    resp = await cancel(client, renter, booking["id"])
    assert resp.status_code == 200
    assert resp.json()["status"] == "cancelled" and resp.json()["refund_cents"] == 0
    error = assert_error(await cancel(client, renter, booking["id"]), 409)
    assert error["current_status"] == "cancelled"
    await book(client, await factory.renter(), vehicle)  # the dates are free again


async def test_active_and_completed_bookings_cannot_be_cancelled(client, factory, parties):
    host, renter, vehicle = parties
    booking = await paid_booking(client, renter, vehicle)
    await move_dates(factory, booking["id"], dt.datetime.now(NASSAU).date())
    resp = await client.post(f"/v1/bookings/{booking['id']}/check-in", headers=host.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "active"
    error = assert_error(await cancel(client, renter, booking["id"]), 409)
    assert error["current_status"] == "active"
    resp = await client.post(f"/v1/bookings/{booking['id']}/check-out", headers=host.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "completed"
    for action in ("cancel", "check-in", "check-out", "decline"):
        error = assert_error(await client.post(f"/v1/bookings/{booking['id']}/{action}", headers=host.headers), 409)
        assert error["current_status"] == "completed"


async def test_check_in_waits_for_the_start_date(client, factory, parties):
    host, renter, vehicle = parties
    booking = await paid_booking(client, renter, vehicle, start_in=10)
    error = assert_error(await client.post(f"/v1/bookings/{booking['id']}/check-in", headers=host.headers), 409)
    assert error["current_status"] == "confirmed"
    assert_error(await client.post(f"/v1/bookings/{booking['id']}/check-in", headers=renter.headers), 403)
