"""The API's routers, one module per resource. Add a router to ROUTERS to mount it."""
from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    auth,
    bookings,
    conversations,
    health,
    payments,
    probes,
    reviews,
    users,
    vehicles,
    webhooks,
    ws,
)

ROUTERS: list[APIRouter] = [
    probes.router,
    health.router,
    auth.router,
    users.router,
    vehicles.router,
    bookings.router,
    payments.router,
    webhooks.router,
    reviews.router,
    conversations.router,
    ws.router,
]
