"""POST /v1/webhooks/stripe: Stripe's event deliveries, signature-checked and processed once per event."""
from __future__ import annotations

from fastapi import APIRouter, Header, Request

from api.bookings.http import after_commit, domain_errors
from api.db import DbConn
from api.errors import APIError, ErrorEnvelope
from api.payments.deps import Gateway
from api.payments.events import handle_event
from api.payments.webhooks import InvalidWebhook, verify_event

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses={400: {"model": ErrorEnvelope}})


@router.post("/stripe")
async def stripe_webhook(request: Request, conn: DbConn, gateway: Gateway,
                         stripe_signature: str | None = Header(default=None)) -> dict:
    """Verify ``Stripe-Signature`` with STRIPE_WEBHOOK_SECRET, then apply the event (idempotent by id).
    A bad signature answers 400 (Stripe retries); a replayed event answers 200 with ``duplicate``."""
    payload = await request.body()
    try:
        event = verify_event(payload, stripe_signature, request.app.state.settings.stripe_webhook_secret)
    except InvalidWebhook as exc:
        raise APIError(400, str(exc), code="invalid_webhook",
                       fields=[("header.stripe-signature", str(exc))]) from None
    with domain_errors():  # a refund that Stripe refused now is a 502: Stripe redelivers, we retry
        outcome, transition = await handle_event(conn, event, gateway)
    await after_commit(request, transition)
    return {"received": True, "event_id": event.id, "outcome": outcome}
