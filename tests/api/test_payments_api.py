"""Paying bookings against a real localstripe: succeeded and declined cards, refusals, e-mail queued."""
import asyncio

import pytest

from tests.api.booking_helpers import DECLINED, WEBHOOK_SECRET, assert_error, book, pay


@pytest.fixture
def settings_overrides(localstripe_url):
    return {"stripe_api_base": localstripe_url, "stripe_webhook_secret": WEBHOOK_SECRET}


@pytest.fixture
async def booking(client, factory):
    host = await factory.host()
    renter = await factory.renter()
    vehicle = await factory.vehicle(host)
    return host, renter, await book(client, renter, vehicle)


async def test_test_card_pays_and_confirms(client, factory, booking):
    _, renter, b = booking
    resp = await pay(client, renter, b["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "confirmed" and resp.json()["payment_status"] == "succeeded"
    rows = await factory.sql("SELECT kind, amount_cents, status, idempotency_key, provider_id FROM payments "
                             "WHERE booking_id = %s", (b["id"],))
    assert rows == [("charge", b["price"]["total_cents"], "succeeded", f"booking-{b['id']}-charge-1", rows[0][4])]
    assert rows[0][4].startswith("pi_")
    events = await factory.sql("SELECT from_status, to_status FROM booking_events WHERE booking_id = %s ORDER BY id",
                               (b["id"],))
    assert events == [(None, "pending"), ("pending", "confirmed")]
    mails = await factory.sql("SELECT kind, to_address FROM email_outbox WHERE to_address = %s", (renter.email,))
    assert mails == [("booking_confirmed", renter.email)]
    history = await client.get(f"/v1/bookings/{b['id']}/payments", headers=renter.headers)
    assert [p["status"] for p in history.json()] == ["succeeded"]


async def test_payment_method_id_pays(client, booking):
    _, renter, b = booking
    resp = await client.post(f"/v1/bookings/{b['id']}/pay", json={"payment_method": "pm_card_visa"},
                             headers=renter.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "confirmed"


async def test_declined_card_is_402_recorded_and_a_new_card_can_pay(client, factory, booking):
    _, renter, b = booking
    error = assert_error(await pay(client, renter, b["id"], DECLINED), 402)
    assert error["code"] == "card_declined"
    after = (await client.get(f"/v1/bookings/{b['id']}", headers=renter.headers)).json()
    assert after["status"] == "pending" and after["payment_status"] == "failed"
    resp = await pay(client, renter, b["id"])
    assert resp.status_code == 200 and resp.json()["status"] == "confirmed"
    keys = await factory.sql("SELECT status, idempotency_key FROM payments WHERE booking_id = %s ORDER BY id",
                             (b["id"],))
    assert keys[0] == ("failed", f"booking-{b['id']}-charge-1")
    assert keys[-1] == ("succeeded", f"booking-{b['id']}-charge-2")


async def test_refusals(client, factory, booking):
    host, renter, b = booking
    stranger = await factory.renter()
    url = f"/v1/bookings/{b['id']}/pay"
    assert_error(await pay(client, stranger, b["id"]), 404)
    assert_error(await pay(client, host, b["id"]), 403)
    assert_error(await client.post(url, json={}, headers=renter.headers), 422)
    assert_error(await client.post(url, json={"payment_method": "pm_card_visa", "card": DECLINED},
                                   headers=renter.headers), 422)
    assert_error(await client.post(url, json={"payment_method": "card_123"}, headers=renter.headers), 422,
                 "body.payment_method")
    assert_error(await client.post(url, json={"card": {**DECLINED, "number": "42"}}, headers=renter.headers), 422,
                 "body.card.number")
    # a well-formed id Stripe does not know: the provider's refusal, still a 422 naming the field
    assert_error(await client.post(url, json={"payment_method": "pm_nosuchmethod"}, headers=renter.headers), 422,
                 "body.payment_method")
    assert (await pay(client, renter, b["id"])).status_code == 200
    error = assert_error(await pay(client, renter, b["id"]), 409)
    assert error["current_status"] == "confirmed"


async def test_double_click_charges_once(client, factory, booking):
    _, renter, b = booking
    first, second = await asyncio.gather(pay(client, renter, b["id"]), pay(client, renter, b["id"]))
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    charges = await factory.sql("SELECT count(*) FROM payments WHERE booking_id = %s AND kind = 'charge'",
                                (b["id"],))
    assert charges == [(1,)]


async def test_provider_down_is_502_and_booking_unchanged(client, factory, make_app, booking):
    from tests.api.conftest import asgi_client
    from tests.support.services import free_port

    _, renter, b = booking
    async with make_app(stripe_api_base=f"http://127.0.0.1:{free_port()}") as broken, asgi_client(broken) as c:
        error = assert_error(await pay(c, renter, b["id"]), 502)
    assert error["code"] == "payment_provider_error"
    assert (await client.get(f"/v1/bookings/{b['id']}", headers=renter.headers)).json()["status"] == "pending"


async def test_overdue_booking_expires_instead_of_charging(client, factory, booking):
    _, renter, b = booking
    await factory.sql("UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = %s", (b["id"],))
    error = assert_error(await pay(client, renter, b["id"]), 409)
    assert error["current_status"] == "expired"
    assert (await client.get(f"/v1/bookings/{b['id']}", headers=renter.headers)).json()["status"] == "expired"
    assert await factory.sql("SELECT count(*) FROM payments WHERE booking_id = %s", (b["id"],)) == [(0,)]
