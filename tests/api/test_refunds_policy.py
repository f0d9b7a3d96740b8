"""The cancellation refund table (pure policy; the Stripe refunds are in test_refunds_api.py)."""
import datetime as dt

import pytest

from api.bookings.refunds import pickup_at, refund_cents, refund_pct

START = pickup_at(dt.date(2030, 6, 10), "America/Nassau")


def test_pickup_is_ten_local_time():
    assert START.isoformat() == "2030-06-10T10:00:00-04:00"


@pytest.mark.parametrize("who, before, pct", [
    ("host", dt.timedelta(days=10), 100),
    ("host", -dt.timedelta(hours=1), 100),
    ("admin", dt.timedelta(hours=1), 100),
    ("renter", dt.timedelta(days=3), 100),
    ("renter", dt.timedelta(hours=24), 100),
    ("renter", dt.timedelta(hours=23, minutes=59), 50),
    ("renter", dt.timedelta(minutes=1), 50),
    ("renter", dt.timedelta(0), 0),
    ("renter", -dt.timedelta(days=1), 0),
])
def test_refund_table(who, before, pct):
    assert refund_pct(who, START - before, START) == pct


def test_refund_amount_rounds_half_up():
    assert refund_cents(10_001, 50) == 5_001
    assert refund_cents(10_000, 100) == 10_000
    assert refund_cents(10_000, 0) == 0


def test_naive_datetimes_refused():
    with pytest.raises(ValueError):
        refund_pct("renter", dt.datetime(2030, 1, 1), START)
