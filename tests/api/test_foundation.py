"""The API skeleton: probes, error envelope, security headers, request ids, body limit, settings."""
from __future__ import annotations

import pytest

from api.settings import ConfigError, load_settings


async def test_livez_and_readyz(client):
    assert (await client.get("/livez")).json() == {"status": "pass"}
    resp = await client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json()["checks"] == {"database:pool": "pass", "database:migrations": "pass"}


async def test_readyz_fails_when_migrations_are_pending(make_app):
    import psycopg

    from api.migrate import apply_migrations
    from tests.api.conftest import asgi_client
    from tests.support.services import temp_database

    with temp_database(prefix="island_api_pending") as dsn:
        apply_migrations(dsn)
        # the schema exists (background workers keep working) but yoyo no longer records the first migration
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM _yoyo_migration WHERE migration_id = '0001_schema'")
        async with make_app(database_url=dsn) as app, asgi_client(app) as c:
            resp = await c.get("/readyz")
            assert resp.status_code == 503
            assert resp.json()["checks"]["database:migrations"] == "fail"
            assert (await c.get("/livez")).status_code == 200


async def test_security_headers_and_request_id(client):
    resp = await client.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["strict-transport-security"].startswith("max-age=")
    assert resp.headers["referrer-policy"] == "no-referrer"
    generated = (await client.get("/livez", headers={"X-Request-ID": "bad id\twith spaces"})).headers["x-request-id"]
    assert generated != "bad id\twith spaces" and len(generated) == 32


async def test_unknown_route_uses_the_envelope(client):
    resp = await client.get("/v1/nope", headers={"X-Request-ID": "rid-404"})
    assert resp.status_code == 404
    error = resp.json()["error"]
    assert error["code"] == "not_found" and error["request_id"] == "rid-404"


async def test_validation_error_names_the_field(client):
    resp = await client.post("/v1/auth/register", json={"email": "not-an-email", "password": "long-enough-pw",
                                                       "full_name": "X"})
    assert resp.status_code == 422
    fields = [f["field"] for f in resp.json()["error"]["fields"]]
    assert fields == ["body.email"]


async def test_invalid_json_is_400(client):
    resp = await client.post("/v1/auth/login", content=b'{"email": ', headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_json"
    assert resp.json()["error"]["fields"][0]["field"] == "body"


async def test_oversize_body_is_413(client, settings):
    big = b'{"email": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    resp = await client.post("/v1/auth/login", content=big, headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"
    assert resp.headers["x-content-type-options"] == "nosniff"


async def test_oversize_streamed_body_without_length_is_413(client, settings):
    async def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    resp = await client.post("/v1/auth/login", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 413


async def test_unexpected_exception_is_a_500_envelope_without_trace(make_app):
    from tests.api.conftest import asgi_client

    async with make_app() as app:
        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret internal detail")

        async with asgi_client(app) as c:
            resp = await c.get("/boom", headers={"X-Request-ID": "rid-500"})
    assert resp.status_code == 500
    assert resp.json()["error"] == {"code": "internal_error", "message": "internal server error",
                                    "fields": [], "request_id": "rid-500"}
    assert "secret" not in resp.text and resp.headers["x-request-id"] == "rid-500"


async def test_cors_allowlist(client, settings):
    allowed = settings.cors_origins[0]
    ok = await client.options("/v1/auth/login", headers={"Origin": allowed, "Access-Control-Request-Method": "POST"})
    assert ok.headers["access-control-allow-origin"] == allowed
    refused = await client.get("/livez", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize("env,expected", [
    ({"environment": "prod", "jwt_secret": "short"}, "JWT_SECRET"),
    ({"database_url": "mysql://x"}, "DATABASE_URL"),
    ({"stripe_api_key": "pk_test_1"}, "STRIPE_API_KEY"),
    ({"smtp_url": "http://x"}, "SMTP_URL"),
    ({"api_port": 70000}, "API_PORT"),
])
def test_settings_errors_name_the_variable(env, expected):
    with pytest.raises(ConfigError, match=expected):
        load_settings(**env)


def test_cli_reports_bad_config_in_one_line(monkeypatch):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "api.cli", "migrate"], check=False, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "REDIS_URL": "http://nope"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_a_bad_telemetry_setting_in_one_line():
    """ISLAND_TELEMETRY is read by ``serve`` after the settings: a bad value must still stop it with one line
    naming the variable, before uvicorn starts."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "1"], check=False,
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "ISLAND_TELEMETRY": "metrics,logz"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "ISLAND_TELEMETRY" in result.stderr and "logz" in result.stderr
    assert "Traceback" not in result.stderr


async def test_pool_connections_carry_the_statement_timeout(app, settings):
    async with app.state.pool.connection() as conn:
        row = await (await conn.execute("SHOW statement_timeout")).fetchone()
    assert row["statement_timeout"] == "30s"
    assert app.state.pool.max_size == settings.db_pool_max_size


async def test_startup_objects_are_frozen_out_of_the_cyclic_collector(client):
    """After the first app of the process has started, what start-up built is in the permanent
    generation (gc.freeze), so full collections on the request path do not walk it."""
    import gc

    from api import app as app_module

    assert (await client.get("/livez")).status_code == 200
    assert app_module._frozen is True
    assert gc.get_freeze_count() > 10_000  # the modules, routes and models of the app, not a handful


async def test_startup_raises_the_youngest_generations_threshold(client):
    """The first app of the process sets gen 0's threshold to GC_GEN0_THRESHOLD (CPython's 700 makes
    collections of the requests in flight, which are all alive) and leaves the older two as they were."""
    import gc

    from api import app as app_module

    assert (await client.get("/livez")).status_code == 200
    assert app_module.GC_GEN0_THRESHOLD == 10_000
    assert gc.get_threshold() == (10_000, 10, 10)


def _draws(*uuids):
    """A stand-in for the uuid module whose uuid4() returns ``uuids`` in turn (the module itself stays)."""
    import types

    draws = iter(uuids)
    return types.SimpleNamespace(uuid4=lambda: next(draws))


async def test_generated_request_id_survives_log_redaction(client, monkeypatch):
    """A generated id is never one that log redaction would mask: a UUID whose hex holds a Luhn-valid
    card-length digit run (4111111111111111) is drawn again."""
    import uuid

    from api import middleware
    from exporters.logs.redact import redact_text

    card_like = uuid.UUID("4111111111111111" + "abcdefabcdefabcd")
    assert redact_text(card_like.hex) != card_like.hex  # the log redaction would mask this one
    plain = uuid.UUID("0123456789abcdef0123456789abcdef")
    monkeypatch.setattr(middleware, "uuid", _draws(card_like, plain))
    assert middleware.new_request_id() == plain.hex
    monkeypatch.setattr(middleware, "uuid", _draws(card_like, card_like, plain))
    resp = await client.get("/livez")
    assert resp.headers["x-request-id"] == plain.hex
    assert redact_text(resp.headers["x-request-id"]) == plain.hex
