"""Registration, login with lockout, refresh rotation with reuse detection, logout, /v1/users/me, tokens."""
from __future__ import annotations

import time
import uuid

import jwt

from tests.api.support import DEFAULT_PASSWORD


def _email() -> str:
    return f"auth-{uuid.uuid4().hex[:12]}@example.com"


async def test_register_login_and_me(client):
    email = _email()
    resp = await client.post("/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD,
                                                       "full_name": "Ada Host", "role": "host"})
    assert resp.status_code == 201
    assert resp.json()["role"] == "host" and "password" not in resp.text
    tokens = (await client.post("/v1/auth/login", json={"email": email.upper(), "password": DEFAULT_PASSWORD})).json()
    me = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == email


async def test_access_token_claims(factory, settings):
    user = await factory.renter()
    claims = jwt.decode(user.access_token, settings.jwt_secret, algorithms=["HS256"], issuer="island-rides")
    assert claims["sub"] == str(user.id) and claims["role"] == "renter" and claims["premium"] is False
    assert claims["exp"] - claims["iat"] == 15 * 60 and claims["jti"]


async def test_admin_role_refused_naming_role(client):
    resp = await client.post("/v1/auth/register", json={"email": _email(), "password": DEFAULT_PASSWORD,
                                                       "full_name": "Mallory", "role": "admin"})
    assert resp.status_code == 422
    assert [f["field"] for f in resp.json()["error"]["fields"]] == ["body.role"]


async def test_duplicate_email_is_409(client, factory):
    user = await factory.renter()
    resp = await client.post("/v1/auth/register", json={"email": user.email.upper(), "password": DEFAULT_PASSWORD,
                                                       "full_name": "Dup"})
    assert resp.status_code == 409 and resp.json()["error"]["fields"][0]["field"] == "body.email"


async def test_short_password_names_the_field(client):
    resp = await client.post("/v1/auth/register", json={"email": _email(), "password": "short", "full_name": "X"})
    assert resp.status_code == 422 and resp.json()["error"]["fields"][0]["field"] == "body.password"


async def test_five_failures_lock_the_account(client, factory):
    user = await factory.renter()
    for _ in range(5):
        bad = await client.post("/v1/auth/login", json={"email": user.email, "password": "wrong-password"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_credentials"
    locked = await client.post("/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert locked.status_code == 423
    assert 14 * 60 <= int(locked.headers["retry-after"]) <= 15 * 60
    # once the lock has expired, the right password works and the counter starts again
    await factory.sql("UPDATE users SET locked_until = now() - interval '1 second' WHERE id = %s", (user.id,))
    assert (await client.post("/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})).status_code == 200
    rows = await factory.sql("SELECT failed_logins, locked_until FROM users WHERE id = %s", (user.id,))
    assert rows == [(0, None)]


async def test_unknown_email_is_401(client):
    resp = await client.post("/v1/auth/login", json={"email": _email(), "password": "whatever-pass"})
    assert resp.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(client, factory):
    user = await factory.renter()
    first = await client.post("/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    second_token = first.json()["refresh_token"]
    assert second_token != user.refresh_token
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert reused.status_code == 401 and reused.json()["error"]["fields"][0]["field"] == "body.refresh_token"
    # the legitimate successor is revoked too: the whole login is gone
    after = await client.post("/v1/auth/refresh", json={"refresh_token": second_token})
    assert after.status_code == 401


async def test_logout_revokes_refresh(client, factory):
    user = await factory.renter()
    assert (await client.post("/v1/auth/logout", json={"refresh_token": user.refresh_token})).status_code == 204
    resp = await client.post("/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert resp.status_code == 401


async def test_me_refuses_missing_tampered_and_expired_tokens(client, factory, settings):
    user = await factory.renter()
    assert (await client.get("/v1/users/me")).status_code == 401
    header, payload, sig = user.access_token.split(".")
    tampered = f"{header}.{payload}.{sig[:-4]}AAAA"
    resp = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {tampered}"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
    now = int(time.time())
    expired = jwt.encode({"sub": str(user.id), "role": "renter", "iat": now - 3600, "exp": now - 60, "jti": "x",
                          "iss": "island-rides"}, settings.jwt_secret, algorithm="HS256")
    resp = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and "expired" in resp.json()["error"]["message"]
    resp = await client.get("/v1/users/me", headers={"Authorization": "Basic abc"})
    assert resp.status_code == 401
