"""The booking status machine, exactly as the product defines it.

    pending ──▶ confirmed ──▶ active ──▶ completed
       │            │
       ├──▶ declined│
       ├──▶ expired │
       └──▶ cancelled ◀┘

``pending`` becomes ``confirmed`` when the payment succeeds; a host may ``decline`` a pending booking;
a pending booking not paid in time ``expires``; renter or host may cancel a pending or confirmed booking.
``active``/``completed`` follow the dates (the sweeper) or the host's check-in/check-out.
"""
from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    ACTIVE = "active"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


S = BookingStatus
ALLOWED_TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.DECLINED, S.EXPIRED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.DECLINED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Statuses that no longer hold the car (the exclusion constraint ignores them).
RELEASED = frozenset({S.CANCELLED, S.DECLINED, S.EXPIRED})


class TransitionNotAllowed(Exception):
    """A booking cannot move from its current status to the requested one (answered as 409)."""

    def __init__(self, current: BookingStatus, target: BookingStatus) -> None:
        super().__init__(f"a {current} booking cannot become {target}")
        self.current = current
        self.target = target


def can_transition(current: BookingStatus | str, target: BookingStatus | str) -> bool:
    """True when the status machine allows ``current`` → ``target``."""
    return BookingStatus(target) in ALLOWED_TRANSITIONS[BookingStatus(current)]


def check_transition(current: BookingStatus | str, target: BookingStatus | str) -> None:
    """Raise TransitionNotAllowed unless ``current`` → ``target`` is allowed."""
    if not can_transition(current, target):
        raise TransitionNotAllowed(BookingStatus(current), BookingStatus(target))
