"""Structured log fields shared by the API's background tasks and sockets."""
from __future__ import annotations


def error_fields(exc: BaseException) -> dict[str, str]:
    """ECS error fields for a log line (the renderer nests dotted names)."""
    return {"error.type": type(exc).__name__, "error.message": str(exc)}
