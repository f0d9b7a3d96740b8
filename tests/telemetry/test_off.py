"""ISLAND_TELEMETRY=off: no middleware, no /metrics, no traceparent, no access log, no-op instruments."""
from __future__ import annotations

from prometheus_client import REGISTRY

from exporters import instruments
from tests.api.conftest import asgi_client


async def test_off_turns_everything_off(make_app, monkeypatch, log_dir, capfd):
    monkeypatch.setenv("ISLAND_TELEMETRY", "off")
    try:
        async with make_app() as app, asgi_client(app) as client:
            assert not any(m.cls.__name__ == "TelemetryMiddleware" for m in app.user_middleware)
            resp = await client.get("/v1/islands")
            assert resp.status_code == 200 and "traceparent" not in resp.headers
            assert (await client.get("/metrics")).status_code == 404
            before = REGISTRY.get_sample_value("island_payments_total", {"outcome": "succeeded"}) or 0.0
            instruments.payment("succeeded")
            assert (REGISTRY.get_sample_value("island_payments_total", {"outcome": "succeeded"}) or 0.0) == before
    finally:
        monkeypatch.delenv("ISLAND_TELEMETRY")
    assert not (log_dir / "api.log").exists()
    assert '"logger":"access"' not in capfd.readouterr().out


async def test_logs_alone_leave_sql_and_redis_uninstrumented(make_app, monkeypatch, log_dir):
    """Durations and client spans feed metrics and traces only: with logs alone, no wrapper runs."""
    for parts, instrumented in (("logs", False), ("logs,metrics", True), ("traces", True)):
        monkeypatch.setenv("ISLAND_TELEMETRY", parts)
        async with make_app() as app, asgi_client(app) as client:
            assert (await client.get("/v1/islands")).status_code == 200
            assert getattr(app.state.redis, "_island_instrumented", False) is instrumented, parts
            assert ("cursor_factory" in (app.state.pool.kwargs or {})) is instrumented, parts
    monkeypatch.delenv("ISLAND_TELEMETRY")
