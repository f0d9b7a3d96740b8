"""The one place the API talks to Stripe, through the official ``stripe`` package.

Every call is async (``*_async`` on an httpx-backed ``StripeClient``) so a slow Stripe never blocks the
event loop, carries an idempotency key chosen by the caller (derived from the booking, so a retried
request can never charge or refund twice), and is wrapped in ``instruments.outgoing_call`` so its
duration and outcome are measured. In dev and tests ``STRIPE_API_BASE`` points at localstripe.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import stripe
from stripe.params import PaymentIntentCreateParams, PaymentMethodCreateParams, RefundCreateParams

from exporters import instruments

# A hung Stripe must not hold a booking row lock for long (see api.bookings.payment_flow).
HTTP_TIMEOUT_S = 10.0
MAX_NETWORK_RETRIES = 2  # safe: every mutating call carries an idempotency key


class PaymentDeclined(Exception):
    """The card or payment method was refused (answered as 402)."""

    def __init__(self, code: str, message: str, intent_id: str | None, charge_id: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.intent_id = intent_id
        self.charge_id = charge_id


class InvalidPaymentMethod(Exception):
    """The payment method id or card details were refused as invalid (answered as 422)."""


class PaymentProviderError(Exception):
    """Stripe could not be reached or answered with an error that is not the customer's (answered as 502)."""


@dataclass(frozen=True, slots=True)
class ChargeResult:
    intent_id: str
    status: str  # Stripe's PaymentIntent status: succeeded, processing, requires_action, ...
    amount_cents: int
    client_secret: str | None = None  # lets the renter's browser finish 3-D Secure with Stripe.js


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: str
    status: str
    amount_cents: int


def _declined(error: stripe.CardError) -> PaymentDeclined:
    body = (error.json_body or {}).get("error", {}) if isinstance(error.json_body, dict) else {}
    intent = body.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    return PaymentDeclined(code=error.code or "card_declined", message=error.user_message or str(error),
                           intent_id=intent_id, charge_id=body.get("charge"))


@contextlib.contextmanager
def _customer_errors(call: dict[str, str], refused: str) -> Iterator[None]:
    """Stripe's errors as ours, with the call's outcome: a card refusal (402), an invalid request naming
    ``refused`` when Stripe gives no message for the customer (422), anything else the provider's (502)."""
    try:
        yield
    except stripe.CardError as exc:
        call["outcome"] = "declined"
        raise _declined(exc) from None
    except stripe.InvalidRequestError as exc:
        call["outcome"] = "invalid"
        raise InvalidPaymentMethod(exc.user_message or refused) from None
    except stripe.StripeError as exc:
        call["outcome"] = "error"
        raise PaymentProviderError(str(exc)) from None


class StripeGateway:
    """Charges, refunds and card tokenisation against the Stripe API at ``api_base``."""

    def __init__(self, api_key: str, api_base: str, currency: str = "usd") -> None:
        self.currency = currency
        self._http = stripe.HTTPXClient(timeout=HTTP_TIMEOUT_S)
        self._client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base}, max_network_retries=MAX_NETWORK_RETRIES,
            http_client=self._http,
        )

    async def close(self) -> None:
        """Close the HTTP connection pool (at app shutdown)."""
        await self._http.close_async()

    async def create_card_payment_method(self, card: dict[str, Any]) -> str:
        """Tokenise raw test-card details into a PaymentMethod id (dev/test convenience; production
        clients send a PaymentMethod id created by Stripe.js, so card numbers never reach the API)."""
        with (instruments.outgoing_call("stripe", "payment_method.create") as call,
              _customer_errors(call, "the card details were refused")):
            params = PaymentMethodCreateParams(type="card", card=card)  # type: ignore[typeddict-item]
            pm = await self._client.v1.payment_methods.create_async(params)
        return pm.id

    async def charge(self, *, amount_cents: int, payment_method: str, idempotency_key: str,
                     metadata: dict[str, str]) -> ChargeResult:
        """Create and confirm one PaymentIntent; raise PaymentDeclined when the card is refused."""
        params = PaymentIntentCreateParams(amount=amount_cents, currency=self.currency,
                                           payment_method=payment_method, confirm=True, metadata=metadata)
        with instruments.outgoing_call("stripe", "payment_intent.create") as call:
            with _customer_errors(call, "the payment method was refused"):
                intent = await self._client.v1.payment_intents.create_async(
                    params, {"idempotency_key": idempotency_key})
            call["outcome"] = "success" if intent.status == "succeeded" else intent.status
        return ChargeResult(intent_id=intent.id, status=intent.status, amount_cents=intent.amount,
                            client_secret=intent.client_secret)

    async def refund(self, *, intent_id: str, amount_cents: int, idempotency_key: str,
                     metadata: dict[str, str]) -> RefundResult:
        """Refund ``amount_cents`` of a succeeded PaymentIntent."""
        params = RefundCreateParams(payment_intent=intent_id, amount=amount_cents, metadata=metadata)
        with instruments.outgoing_call("stripe", "refund.create") as call:
            try:
                refund = await self._client.v1.refunds.create_async(params, {"idempotency_key": idempotency_key})
            except stripe.StripeError as exc:
                call["outcome"] = "error"
                raise PaymentProviderError(str(exc)) from None
        return RefundResult(refund_id=refund.id, status=refund.status or "succeeded",
                            amount_cents=refund.amount)
