"""Stripe-Signature verification with the stripe package: valid, tampered, stale, missing."""
import hashlib
import hmac
import json
import time

import pytest

from api.payments.webhooks import InvalidWebhook, verify_event

SECRET = "whsec_test_secret"


def sign(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def event_body(event_id: str = "evt_1", kind: str = "payment_intent.succeeded") -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": kind,
                       "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 100}}}).encode()


def test_valid_signature_gives_the_event():
    body = event_body()
    event = verify_event(body, sign(body), SECRET)
    assert (event.id, event.type, event.object["id"]) == ("evt_1", "payment_intent.succeeded", "pi_1")


@pytest.mark.parametrize("mutate", [
    lambda body, sig: (body.replace(b"100", b"999"), sig),        # tampered body
    lambda body, sig: (body, sign(body, secret="whsec_other")),   # wrong secret
    lambda body, sig: (body, sign(body, at=int(time.time()) - 3600)),  # replayed an hour later
    lambda body, sig: (body, None),                                # no header
    lambda body, sig: (body, "garbage"),
])
def test_refused(mutate):
    body = event_body()
    body, sig = mutate(body, sign(body))
    with pytest.raises(InvalidWebhook):
        verify_event(body, sig, SECRET)


def test_signed_non_event_refused():
    body = b'{"hello": "world"}'
    with pytest.raises(InvalidWebhook):
        verify_event(body, sign(body), SECRET)
