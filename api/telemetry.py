"""Telemetry wiring for the API (stub: the telemetry engineer replaces these bodies).

``install(app, settings)`` adds metrics/tracing middleware and endpoints from ``exporters``;
``configure_logging(settings)`` sets up ECS-JSON logging. Both are called by ``api.app``.
"""
from __future__ import annotations

from typing import Any


def install(app: Any, settings: Any) -> None:
    """Wire metrics, traces and the access log into ``app`` (no-op for now)."""


def configure_logging(settings: Any) -> None:
    """Configure process-wide logging (no-op for now)."""
