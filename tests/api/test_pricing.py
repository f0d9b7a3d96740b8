"""The server-side price: nights x rate, weekly/monthly discount, delivery/airport fee, 12 % service fee."""
import pytest

from api.bookings.pricing import DeliveryOption, VehicleRates, price, round_pct

RATES = VehicleRates(daily_rate_cents=8_999, weekly_discount_pct=10, monthly_discount_pct=25,
                     delivery_fee_cents=2_500, airport_fee_cents=4_000, security_deposit_cents=30_000)


def test_short_stay_has_no_discount_and_service_fee_on_subtotal():
    p = price(RATES, 3)
    assert (p.base_cents, p.discount_pct, p.discount_cents, p.fees_cents) == (26_997, 0, 0, 0)
    assert p.subtotal_cents == 26_997
    assert p.service_fee_cents == 3_240  # 3239.64 rounds up
    assert p.total_cents == 30_237
    assert p.security_deposit_cents == 30_000


@pytest.mark.parametrize("nights, pct", [(6, 0), (7, 10), (27, 10), (28, 25), (60, 25)])
def test_weekly_from_7_and_monthly_from_28_nights(nights, pct):
    assert price(RATES, nights).discount_pct == pct


def test_weekly_discount_and_delivery_fee():
    p = price(RATES, 7, DeliveryOption.DELIVERY)
    assert p.base_cents == 62_993
    assert p.discount_cents == 6_299  # 6299.3
    assert p.fees_cents == 2_500
    assert p.subtotal_cents == 62_993 - 6_299 + 2_500
    assert p.service_fee_cents == round_pct(p.subtotal_cents, 12)
    assert p.total_cents == p.subtotal_cents + p.service_fee_cents


def test_airport_fee_and_monthly_discount():
    p = price(RATES, 28, DeliveryOption.AIRPORT)
    assert p.discount_cents == 62_993  # 251972 x 25 % = 62993 exactly
    assert p.fees_cents == 4_000
    assert p.subtotal_cents == 192_979
    assert p.service_fee_cents == 23_157  # 23157.48
    assert p.total_cents == 216_136


def test_lines_always_add_up():
    for nights in range(1, 40):
        for option in DeliveryOption:
            p = price(RATES, nights, option)
            assert p.base_cents - p.discount_cents + p.fees_cents == p.subtotal_cents
            assert p.subtotal_cents + p.service_fee_cents == p.total_cents


@pytest.mark.parametrize("amount, pct, expected", [(50, 1, 1), (49, 1, 0), (150, 1, 2), (0, 12, 0), (100, 12, 12)])
def test_round_pct_rounds_halves_up(amount, pct, expected):
    assert round_pct(amount, pct) == expected


def test_zero_nights_refused():
    with pytest.raises(ValueError):
        price(RATES, 0)
