"""How much of a paid booking is refunded on cancellation.

- the host (or an admin, or the system) cancels: 100 %
- the renter cancels at least 24 h before the start: 100 %
- the renter cancels within 24 h of the start: 50 %
- the renter cancels after the start: 0 %

"The start" is the pick-up time: ``PICKUP_TIME`` on the start date in the island's time zone
(bookings are whole days, ``[start_date, end_date)``). Refund amounts round to the nearest cent, halves up.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from api.bookings.pricing import round_pct

PICKUP_TIME = dt.time(10, 0)  # cars are handed over at 10:00 local time on the start date
RETURN_TIME = dt.time(10, 0)  # ... and returned at 10:00 on the end date
FULL_REFUND_NOTICE = dt.timedelta(hours=24)


def pickup_at(start_date: dt.date, timezone: str) -> dt.datetime:
    """The aware instant a booking starting on ``start_date`` begins, on the island's clock."""
    return dt.datetime.combine(start_date, PICKUP_TIME, tzinfo=ZoneInfo(timezone))


def return_at(end_date: dt.date, timezone: str) -> dt.datetime:
    """The aware instant a booking ending on ``end_date`` ends, on the island's clock."""
    return dt.datetime.combine(end_date, RETURN_TIME, tzinfo=ZoneInfo(timezone))


def refund_pct(cancelled_by: str, now: dt.datetime, starts_at: dt.datetime) -> int:
    """The refund percentage for a cancellation by ``cancelled_by`` (renter|host|admin|system) at ``now``."""
    if now.tzinfo is None or starts_at.tzinfo is None:
        raise ValueError("refund_pct needs timezone-aware datetimes")
    if cancelled_by != "renter":
        return 100
    if now <= starts_at - FULL_REFUND_NOTICE:
        return 100
    if now < starts_at:
        return 50
    return 0


def refund_cents(paid_cents: int, pct: int) -> int:
    """The amount to refund of ``paid_cents`` at ``pct`` percent."""
    return round_pct(paid_cents, pct)
