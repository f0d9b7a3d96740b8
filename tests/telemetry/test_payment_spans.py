"""The Stripe calls of a payment are client spans under the request span, timed in the outgoing-call
histogram, and the payment counts land in the business metrics."""
from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from tests.api.booking_helpers import VISA, WEBHOOK_SECRET, book

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def settings_overrides(localstripe_url, log_dir):
    return {"stripe_api_base": localstripe_url, "stripe_webhook_secret": WEBHOOK_SECRET, "log_dir": log_dir}


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_stripe_spans_are_children_of_the_pay_request(client, factory, spans):
    renter = await factory.renter()
    booking = await book(client, renter, await factory.vehicle())
    calls_before = _sample("island_outgoing_call_duration_seconds_count", peer="stripe",
                           operation="payment_intent.create", outcome="success")
    paid_before = _sample("island_payments_total", outcome="succeeded")
    spans.clear()

    resp = await client.post(f"/v1/bookings/{booking['id']}/pay", json={"card": VISA},
                             headers={**renter.headers, "traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"})
    assert resp.status_code == 200, resp.text

    finished = spans.get_finished_spans()
    [server] = [s for s in finished if s.kind == SpanKind.SERVER and s.context.trace_id == int(TRACE_ID, 16)]
    assert server.name == "POST /v1/bookings/{booking_id}/pay"
    stripe = [s for s in finished if s.attributes.get("peer.service") == "stripe"]
    assert stripe, [s.name for s in finished]
    for span in stripe:
        assert span.kind == SpanKind.CLIENT
        assert span.parent is not None and span.parent.span_id == server.context.span_id
        assert span.context.trace_id == server.context.trace_id
    assert "stripe payment_intent.create" in {s.name for s in stripe}
    sql = [s for s in finished if s.attributes.get("db.system.name") == "postgresql"
           and s.context.trace_id == server.context.trace_id]
    assert sql and all(s.parent.span_id == server.context.span_id for s in sql)

    assert _sample("island_outgoing_call_duration_seconds_count", peer="stripe", operation="payment_intent.create",
                   outcome="success") == calls_before + 1
    assert _sample("island_payments_total", outcome="succeeded") == paid_before + 1
