"""The price of a booking, computed on the server only and snapshotted on the booking row.

All amounts are integer cents. The breakdown, in order:

1. ``base_cents``      = nights x daily rate
2. ``discount_cents``  = base x monthly discount % (>= 28 nights) or weekly discount % (>= 7 nights);
                         only one of the two applies, the monthly one wins
3. ``fees_cents``      = the vehicle's delivery fee or airport fee, by the chosen option (pickup: 0)
4. ``subtotal_cents``  = base - discount + fees
5. ``service_fee_cents`` = 12 % of the subtotal
6. ``total_cents``     = subtotal + service fee

Rounding: every percentage is rounded to the nearest cent, halves up (``round_pct``), once, at the line
it produces; the sums are exact. So the lines always add up to the total the renter is charged.
The security deposit is shown but is not part of the total (it is not charged at booking time).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

SERVICE_FEE_PCT = 12
WEEKLY_MIN_NIGHTS = 7
MONTHLY_MIN_NIGHTS = 28


class DeliveryOption(StrEnum):
    """How the renter gets the car: collect it from the host, have it delivered, or at the airport."""

    PICKUP = "pickup"
    DELIVERY = "delivery"
    AIRPORT = "airport"


@dataclass(frozen=True, slots=True)
class VehicleRates:
    """The pricing fields of a vehicle row."""

    daily_rate_cents: int
    weekly_discount_pct: int = 0
    monthly_discount_pct: int = 0
    delivery_fee_cents: int = 0
    airport_fee_cents: int = 0
    security_deposit_cents: int = 0
    currency: str = "usd"


@dataclass(frozen=True, slots=True)
class PriceBreakdown:
    """One quote; the same fields are snapshotted on the booking."""

    nights: int
    daily_rate_cents: int
    base_cents: int
    discount_pct: int
    discount_cents: int
    delivery: str
    fees_cents: int
    subtotal_cents: int
    service_fee_pct: int
    service_fee_cents: int
    total_cents: int
    security_deposit_cents: int
    currency: str

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


def round_pct(amount_cents: int, pct: int) -> int:
    """``amount_cents x pct / 100`` rounded to the nearest cent, halves up (integer arithmetic only)."""
    if amount_cents < 0 or pct < 0:
        raise ValueError("amount and percentage must not be negative")
    return (amount_cents * pct + 50) // 100


def discount_pct_for(nights: int, rates: VehicleRates) -> int:
    """The one discount percentage that applies to a stay of ``nights``."""
    if nights >= MONTHLY_MIN_NIGHTS:
        return rates.monthly_discount_pct
    if nights >= WEEKLY_MIN_NIGHTS:
        return rates.weekly_discount_pct
    return 0


def fee_for(option: DeliveryOption, rates: VehicleRates) -> int:
    """The delivery or airport fee of the chosen option (collecting the car costs nothing)."""
    if option is DeliveryOption.DELIVERY:
        return rates.delivery_fee_cents
    if option is DeliveryOption.AIRPORT:
        return rates.airport_fee_cents
    return 0


def price(rates: VehicleRates, nights: int, option: DeliveryOption = DeliveryOption.PICKUP) -> PriceBreakdown:
    """The full price breakdown of ``nights`` nights of a vehicle with ``rates``."""
    if nights < 1:
        raise ValueError("a booking lasts at least one night")
    base = nights * rates.daily_rate_cents
    discount_pct = discount_pct_for(nights, rates)
    discount = round_pct(base, discount_pct)
    fees = fee_for(option, rates)
    subtotal = base - discount + fees
    service_fee = round_pct(subtotal, SERVICE_FEE_PCT)
    return PriceBreakdown(
        nights=nights, daily_rate_cents=rates.daily_rate_cents, base_cents=base, discount_pct=discount_pct,
        discount_cents=discount, delivery=option.value, fees_cents=fees, subtotal_cents=subtotal,
        service_fee_pct=SERVICE_FEE_PCT, service_fee_cents=service_fee, total_cents=subtotal + service_fee,
        security_deposit_cents=rates.security_deposit_cents, currency=rates.currency,
    )
