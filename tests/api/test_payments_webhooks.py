"""POST /v1/webhooks/stripe: signature (valid, tampered, stale), idempotency by event id, effects;
and one real delivery from localstripe to a live API."""
import asyncio
import time
import uuid

import httpx
import pytest

from tests.api.booking_helpers import WEBHOOK_SECRET, assert_error, book, intent_event, pay, signed

URL = "/v1/webhooks/stripe"


@pytest.fixture
def settings_overrides(localstripe_url):
    return {"stripe_api_base": localstripe_url, "stripe_webhook_secret": WEBHOOK_SECRET}


@pytest.fixture
async def pending(client, factory):
    renter = await factory.renter()
    return renter, await book(client, renter, await factory.vehicle())


def evt() -> str:
    return f"evt_{uuid.uuid4().hex[:16]}"


async def status_of(client, renter, booking) -> dict:
    return (await client.get(f"/v1/bookings/{booking['id']}", headers=renter.headers)).json()


async def test_succeeded_event_confirms_once_even_when_replayed(client, factory, pending):
    renter, booking = pending
    event_id = evt()
    body, headers = signed(intent_event(event_id, "payment_intent.succeeded", booking))
    first = await client.post(URL, content=body, headers=headers)
    assert first.status_code == 200 and first.json()["outcome"] == "processed"
    assert (await status_of(client, renter, booking))["status"] == "confirmed"
    replay = await client.post(URL, content=body, headers=headers)
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    confirmed = await factory.sql("SELECT count(*) FROM booking_events WHERE booking_id = %s AND to_status = "
                                  "'confirmed'", (booking["id"],))
    assert confirmed == [(1,)]
    stored = await factory.sql("SELECT event_type, processed_at IS NOT NULL FROM webhook_events WHERE event_id = %s",
                               (event_id,))
    assert stored == [("payment_intent.succeeded", True)]
    mails = await factory.sql("SELECT count(*) FROM email_outbox WHERE to_address = %s", (renter.email,))
    assert mails == [(1,)]


async def test_concurrent_deliveries_of_one_event_apply_once(client, factory, pending):
    renter, booking = pending
    body, headers = signed(intent_event(evt(), "payment_intent.succeeded", booking))
    answers = await asyncio.gather(*(client.post(URL, content=body, headers=headers) for _ in range(5)))
    assert sorted(r.json()["outcome"] for r in answers) == ["duplicate"] * 4 + ["processed"]
    assert (await status_of(client, renter, booking))["status"] == "confirmed"


async def test_wrong_amount_does_not_confirm(client, pending):
    renter, booking = pending
    body, headers = signed(intent_event(evt(), "payment_intent.succeeded", booking, amount=100))
    assert (await client.post(URL, content=body, headers=headers)).status_code == 200
    assert (await status_of(client, renter, booking))["status"] == "pending"


async def test_failed_event_is_recorded(client, factory, pending):
    renter, booking = pending
    event_id = evt()
    body, headers = signed(intent_event(event_id, "payment_intent.payment_failed", booking))
    assert (await client.post(URL, content=body, headers=headers)).json()["outcome"] == "processed"
    after = await status_of(client, renter, booking)
    assert (after["status"], after["payment_status"]) == ("pending", "failed")
    rows = await factory.sql("SELECT status FROM payments WHERE provider_id = %s", (f"pi_{event_id}",))
    assert rows == [("failed",)]


async def test_other_events_are_acknowledged(client):
    body, headers = signed({"id": evt(), "object": "event", "type": "customer.created",
                            "data": {"object": {"id": "cus_1", "object": "customer"}}})
    resp = await client.post(URL, content=body, headers=headers)
    assert resp.status_code == 200 and resp.json()["outcome"] == "ignored"


@pytest.mark.parametrize("attack", ["tampered", "wrong_secret", "stale", "missing", "not_json"])
async def test_bad_signatures_are_400_and_change_nothing(client, pending, attack):
    renter, booking = pending
    event = intent_event(evt(), "payment_intent.succeeded", booking)
    body, headers = signed(event, secret="whsec_attacker" if attack == "wrong_secret" else WEBHOOK_SECRET,
                           at=int(time.time()) - 3600 if attack == "stale" else None)
    if attack == "tampered":
        body = body.replace(b'"succeeded"', b'"succeeded" ', 1)
    if attack == "missing":
        headers.pop("Stripe-Signature")
    if attack == "not_json":
        body, headers = signed({"id": "x"})
        body = b"not json" + body
    error = assert_error(await client.post(URL, content=body, headers=headers), 400)
    assert error["code"] == "invalid_webhook"
    assert (await status_of(client, renter, booking))["status"] == "pending"


async def test_localstripe_delivers_a_verifiable_webhook(client, factory, live_api, localstripe_url, pending):
    """A real delivery: localstripe signs payment_intent.succeeded and posts it to a live API."""
    renter, booking = pending
    with live_api() as api:
        async with httpx.AsyncClient() as raw:
            resp = await raw.post(f"{localstripe_url}/_config/webhooks/{uuid.uuid4().hex[:8]}",
                                  data={"url": f"{api.url}{URL}", "secret": WEBHOOK_SECRET,
                                        "events[]": ["payment_intent.succeeded"]})
            assert resp.status_code == 200, resp.text
            assert (await pay(client, renter, booking["id"])).status_code == 200
            intent = (await factory.sql("SELECT payment_intent_id FROM bookings WHERE id = %s",
                                        (booking["id"],)))[0][0]
            for _ in range(100):  # localstripe waits 1 s before delivering
                rows = await factory.sql("SELECT payload->'data'->'object'->>'id' FROM webhook_events "
                                         "WHERE event_type = 'payment_intent.succeeded' "
                                         "AND payload->'data'->'object'->>'id' = %s", (intent,))
                if rows:
                    break
                await asyncio.sleep(0.1)
    assert rows == [(intent,)]


async def test_payment_for_a_released_booking_is_refunded_in_full(client, factory, localstripe_url, pending):
    """The money arrives (e.g. after 3-D Secure) once the booking was cancelled: it all goes back."""
    from api.payments.gateway import StripeGateway

    renter, booking = pending
    assert (await client.post(f"/v1/bookings/{booking['id']}/cancel", headers=renter.headers)).status_code == 200
    gateway = StripeGateway("sk_test_12345", localstripe_url)
    charge = await gateway.charge(amount_cents=booking["price"]["total_cents"], payment_method="pm_card_visa",
                                  idempotency_key=evt(), metadata={"booking_id": str(booking["id"])})
    event = intent_event(evt(), "payment_intent.succeeded", booking)
    event["data"]["object"]["id"] = charge.intent_id
    body, headers = signed(event)
    assert (await client.post(URL, content=body, headers=headers)).json()["outcome"] == "processed"
    after = await status_of(client, renter, booking)
    assert (after["status"], after["payment_status"], after["refund_cents"]) == (
        "cancelled", "refunded", booking["price"]["total_cents"])
    refunds = await factory.sql("SELECT provider_id, amount_cents FROM payments WHERE booking_id = %s AND "
                                "kind = 'refund'", (booking["id"],))
    assert [r[1] for r in refunds] == [booking["price"]["total_cents"]]
    async with httpx.AsyncClient() as raw:
        refund = (await raw.get(f"{localstripe_url}/v1/refunds/{refunds[0][0]}", auth=("sk_test_12345", ""))).json()
    assert refund["payment_intent"] == charge.intent_id and refund["amount"] == booking["price"]["total_cents"]


async def test_three_d_secure_card_waits_for_the_webhook(client, factory, localstripe_url, pending):
    """A card needing 3-D Secure: 402 with the client secret, booking still pending; once the renter
    authenticates (localstripe's stand-in for Stripe.js), the succeeded event confirms the booking."""
    from tests.api.booking_helpers import pay

    renter, booking = pending
    card = {"number": "4000002500003155", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    error = assert_error(await pay(client, renter, booking["id"], card), 402)
    assert error["code"] == "payment_requires_action" and error["client_secret"].startswith(error["payment_intent"])
    after = await status_of(client, renter, booking)
    assert (after["status"], after["payment_status"]) == ("pending", "requires_action")
    async with httpx.AsyncClient() as raw:
        done = await raw.post(f"{localstripe_url}/v1/payment_intents/{error['payment_intent']}/_authenticate",
                              params={"client_secret": error["client_secret"], "success": "true"},
                              auth=("sk_test_12345", ""))
        assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    event = intent_event(evt(), "payment_intent.succeeded", booking)
    event["data"]["object"]["id"] = error["payment_intent"]
    body, headers = signed(event)
    assert (await client.post(URL, content=body, headers=headers)).json()["outcome"] == "processed"
    after = await status_of(client, renter, booking)
    assert (after["status"], after["payment_status"]) == ("confirmed", "succeeded")
