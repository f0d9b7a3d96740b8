"""The Stripe gateway against a real localstripe: charge (succeeded, declined), refund, bad method."""
import uuid

import pytest

from api.payments.gateway import InvalidPaymentMethod, PaymentDeclined, StripeGateway
from tests.support.services import localstripe

VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
DECLINED = {"number": "4000000000000341", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


@pytest.fixture(scope="module")
def stripe_url():
    with localstripe() as server:
        yield server.url


@pytest.fixture
def gateway(stripe_url):
    return StripeGateway("sk_test_12345", stripe_url)


def key() -> str:
    return f"test-{uuid.uuid4().hex}"


async def test_card_charge_succeeds_and_refunds(gateway):
    pm = await gateway.create_card_payment_method(VISA)
    assert pm.startswith("pm_")
    charge = await gateway.charge(amount_cents=12_345, payment_method=pm, idempotency_key=key(),
                                  metadata={"booking_id": "1"})
    assert charge.status == "succeeded" and charge.amount_cents == 12_345 and charge.intent_id.startswith("pi_")
    refund = await gateway.refund(intent_id=charge.intent_id, amount_cents=6_173, idempotency_key=key(),
                                  metadata={"booking_id": "1"})
    assert refund.status == "succeeded" and refund.amount_cents == 6_173 and refund.refund_id.startswith("re_")


async def test_declined_card_raises_with_code(gateway):
    pm = await gateway.create_card_payment_method(DECLINED)
    with pytest.raises(PaymentDeclined) as info:
        await gateway.charge(amount_cents=5_000, payment_method=pm, idempotency_key=key(), metadata={})
    assert info.value.code == "card_declined"


async def test_unknown_payment_method_is_invalid(gateway):
    with pytest.raises(InvalidPaymentMethod):
        await gateway.charge(amount_cents=5_000, payment_method="pm_doesnotexist", idempotency_key=key(),
                             metadata={})


async def test_malformed_card_is_invalid(gateway):
    with pytest.raises(InvalidPaymentMethod):
        await gateway.create_card_payment_method({**VISA, "number": "4242"})
