"""Verifying Stripe webhook deliveries (the ``Stripe-Signature`` header) with the stripe package."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

# Stripe's own default: a signed delivery older than five minutes is refused (replay protection on
# top of the event-id idempotency in webhook_events).
TOLERANCE_S = 300


class InvalidWebhook(Exception):
    """The body is not a Stripe event or its signature does not verify (answered as 400)."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str
    object: dict[str, Any]
    payload: dict[str, Any]


def verify_event(payload: bytes, signature: str | None, secret: str,
                 tolerance_s: int = TOLERANCE_S) -> WebhookEvent:
    """Check the signature of one delivery and return its event; raise InvalidWebhook otherwise."""
    if not signature:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance_s)
    except stripe.SignatureVerificationError:
        raise InvalidWebhook("Stripe-Signature does not verify") from None
    except ValueError:
        raise InvalidWebhook("body is not a Stripe event") from None
    raw = event.to_dict()
    data = raw.get("data") or {}
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str) or not isinstance(obj, dict):
        raise InvalidWebhook("event lacks id, type or data.object")
    return WebhookEvent(id=raw["id"], type=raw["type"], object=obj, payload=raw)
