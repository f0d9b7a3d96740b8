"""FastAPI dependency lending the app's Stripe gateway (created on first use from the settings)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.payments.gateway import StripeGateway


def get_gateway(request: Request) -> StripeGateway:
    """The process-wide gateway for STRIPE_API_BASE/STRIPE_API_KEY (one httpx connection pool)."""
    gateway = getattr(request.app.state, "stripe_gateway", None)
    if gateway is None:
        settings = request.app.state.settings
        gateway = StripeGateway(settings.stripe_api_key, settings.stripe_api_base)
        request.app.state.stripe_gateway = gateway
    return gateway


Gateway = Annotated[StripeGateway, Depends(get_gateway)]
