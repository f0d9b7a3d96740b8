"""Payments: the Stripe gateway (PaymentIntents, refunds) and webhook verification."""
