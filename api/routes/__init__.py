"""The API's routers, one module per resource. Add a router to ROUTERS to mount it."""
from __future__ import annotations

from fastapi import APIRouter

from api.routes import auth, probes, users

ROUTERS: list[APIRouter] = [
    probes.router,
    auth.router,
    users.router,
]
