"""Glue shared by the booking, payment and webhook routes: loading a booking for its caller, mapping
domain exceptions to the error envelope, and the after-commit effects."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from fastapi import Request

from api.bookings import repository as repo
from api.bookings.service import Actor, Transition, actor_for, announce, booking_not_found
from api.bookings.states import TransitionNotAllowed
from api.cache import invalidate_vehicle
from api.db import Conn
from api.errors import APIError
from api.payments.checkout import declined_error
from api.payments.gateway import InvalidPaymentMethod, PaymentDeclined, PaymentProviderError


async def locked_for(conn: Conn, booking_id: int, user_id: int, role: str) -> tuple[dict[str, Any], Actor]:
    """The row-locked booking and the caller's part in it; 404 for a missing or someone else's booking."""
    booking = await repo.lock_booking(conn, booking_id)
    actor = actor_for(booking, user_id, role) if booking is not None else None
    if booking is None or actor is None:
        raise booking_not_found()
    return booking, actor


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Translate the domain's exceptions into envelopes (409 with the current status, 402, 422, 502)."""
    try:
        yield
    except TransitionNotAllowed as exc:
        raise APIError(409, f"booking is {exc.current}: it cannot become {exc.target}", code="invalid_transition",
                       extra={"current_status": exc.current.value}) from None
    except PaymentDeclined as exc:
        raise declined_error(exc) from None
    except InvalidPaymentMethod as exc:
        raise APIError(422, f"payment method refused: {exc}", fields=[("body.payment_method", str(exc))]) from None
    except PaymentProviderError:
        raise APIError(502, "the payment provider is unavailable, retry later", code="payment_provider_error",
                       headers={"Retry-After": "5"}) from None


async def after_commit(request: Request, *transitions: Transition | None) -> None:
    """Metrics and cache invalidation for committed transitions."""
    done = [t for t in transitions if t is not None]
    if done:
        await announce(done, functools.partial(invalidate_vehicle, request.app.state.redis))
