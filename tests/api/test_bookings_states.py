"""The status machine: every allowed transition, and every disallowed one refused."""
import itertools

import pytest

from api.bookings.states import ALLOWED_TRANSITIONS, TransitionNotAllowed, check_transition
from api.bookings.states import BookingStatus as S

ALLOWED = {
    (S.PENDING, S.CONFIRMED), (S.CONFIRMED, S.ACTIVE), (S.ACTIVE, S.COMPLETED),
    (S.PENDING, S.DECLINED), (S.PENDING, S.EXPIRED), (S.PENDING, S.CANCELLED), (S.CONFIRMED, S.CANCELLED),
}


def test_table_is_exactly_the_product_machine():
    table = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


@pytest.mark.parametrize("current, target", sorted(ALLOWED))
def test_allowed(current, target):
    check_transition(current, target)


@pytest.mark.parametrize("current, target",
                         [p for p in itertools.product(S, S) if p not in ALLOWED])
def test_disallowed_names_current_status(current, target):
    with pytest.raises(TransitionNotAllowed) as info:
        check_transition(current.value, target.value)
    assert info.value.current is current and info.value.target is target
