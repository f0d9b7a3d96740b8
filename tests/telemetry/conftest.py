"""Fixtures for the telemetry tests: the API fixtures of tests/api (temp database, throwaway Redis,
in-process app and client, a live ``island-api serve``), with the log directory per test and spans
captured by an in-memory exporter."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from exporters import tracing
from exporters.logs import flush_logs
from tests.api.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    api_database,
    api_redis,
    app,
    client,
    factory,
    live_api,
    localstripe_url,
    make_app,
    settings,
)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def settings_overrides(log_dir: Path) -> dict[str, object]:
    return {"log_dir": log_dir}


@pytest.fixture
def spans(app) -> Iterator[InMemorySpanExporter]:  # noqa: F811 - depends on the app fixture
    """Every span of the test, sampled at 100% (installed after the app so it replaces its provider)."""
    exporter = InMemorySpanExporter()
    tracing.configure_tracing("island-api", "test", 1.0, exporters=[exporter])
    yield exporter
    tracing.disable_tracing()


def read_log(log_dir: Path) -> list[dict[str, Any]]:
    """Every JSON line of ``api.log``, parsed."""
    flush_logs()
    path = log_dir / "api.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def access_lines(log_dir: Path) -> list[dict[str, Any]]:
    return [line for line in read_log(log_dir) if line.get("log", {}).get("logger") == "access"]


async def one_request(middleware_config: Any, scope: dict[str, Any], route: Any, status: int = 200,
                      body: bytes = b"") -> None:
    """Send ``scope`` through ``TelemetryMiddleware(app, middleware_config)`` around an app that leaves
    ``route`` in the scope as Starlette's router does (None: nothing matched) and answers ``status``."""
    from exporters.asgi import TelemetryMiddleware

    async def routed_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if route is not None:
            scope["route"] = route
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    await TelemetryMiddleware(routed_app, middleware_config)(scope, receive, send)
