"""Accounts and sessions: register, log in (with lockout), rotate refresh tokens, log out.

Refresh tokens form families: a login starts one, each refresh replaces the presented token by a new one
in the same family. Presenting a token that was already rotated means it leaked (or was replayed), so the
whole family is revoked and the caller must log in again (RFC 6819 5.2.2.3 / OAuth 2.0 Security BCP).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import errors as pg_errors

from api.auth.passwords import hash_password, verify_password
from api.auth.tokens import create_access_token, hash_refresh_token, new_refresh_token
from api.db import Conn
from api.errors import APIError
from api.settings import Settings

USER_COLUMNS = "id, email, full_name, phone, role, premium, created_at"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


async def register_user(conn: Conn, settings: Settings, *, email: str, password: str, full_name: str,
                        role: str, phone: str | None) -> dict[str, Any]:
    """Create a renter or host; 409 naming ``email`` when it is taken (case-insensitively)."""
    password_hash = await hash_password(password, settings.argon2_time_cost, settings.argon2_memory_kib)
    try:
        cur = await conn.execute(
            f"INSERT INTO users (email, password_hash, full_name, phone, role) VALUES (%s, %s, %s, %s, %s) "
            f"RETURNING {USER_COLUMNS}",
            (email, password_hash, full_name, phone, role),
        )
    except pg_errors.UniqueViolation:
        raise APIError(409, "an account with this email already exists", code="email_taken",
                       fields=[("body.email", "already registered")]) from None
    row = await cur.fetchone()
    assert row is not None
    return row


async def _issue_tokens(conn: Conn, settings: Settings, user: dict[str, Any], family_id: uuid.UUID,
                        user_agent: str | None) -> tuple[TokenPair, int]:
    refresh = new_refresh_token()
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_s)
    cur = await conn.execute(
        "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, user_agent) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (user["id"], family_id, hash_refresh_token(refresh), expires_at, (user_agent or "")[:300]),
    )
    row = await cur.fetchone()
    assert row is not None
    access = create_access_token(settings, user["id"], user["role"], user["premium"])
    return TokenPair(access, refresh, settings.access_token_ttl_s), row["id"]


def _locked(retry_after_s: int) -> APIError:
    return APIError(423, "account locked after too many failed logins; try again later", code="account_locked",
                    headers={"Retry-After": str(max(1, retry_after_s))})


async def login(conn: Conn, settings: Settings, email: str, password: str, user_agent: str | None) -> TokenPair:
    """Check the password; after MAX_FAILED_LOGINS failures in a row the account is locked for LOCKOUT_S."""
    cur = await conn.execute(
        "SELECT id, role, premium, password_hash, locked_until, now() AS now FROM users WHERE lower(email) = lower(%s)",
        (email,),
    )
    user = await cur.fetchone()
    if user and user["locked_until"] and user["locked_until"] > user["now"]:
        raise _locked(int((user["locked_until"] - user["now"]).total_seconds()))
    ok = await verify_password(user["password_hash"] if user else None, password,
                               settings.argon2_time_cost, settings.argon2_memory_kib)
    if user is None:
        raise APIError(401, "invalid email or password", code="invalid_credentials")
    if not ok:
        await _record_failure(conn, settings, user["id"])
        raise APIError(401, "invalid email or password", code="invalid_credentials")
    async with conn.transaction():
        await conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = %s", (user["id"],))
        pair, _ = await _issue_tokens(conn, settings, user, uuid.uuid4(), user_agent)
    return pair


async def _record_failure(conn: Conn, settings: Settings, user_id: int) -> None:
    # One statement, so concurrent failures count correctly; an expired lock starts a new count.
    await conn.execute(
        """UPDATE users SET
             failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= now() THEN 1
                                  ELSE failed_logins + 1 END,
             locked_until = CASE
                 WHEN locked_until IS NOT NULL AND locked_until <= now() THEN NULL
                 WHEN failed_logins + 1 >= %(max)s THEN now() + make_interval(secs => %(lock)s)
                 ELSE locked_until END
           WHERE id = %(id)s""",
        {"max": settings.max_failed_logins, "lock": settings.lockout_s, "id": user_id},
    )


def _invalid_refresh(message: str) -> APIError:
    return APIError(401, message, code="invalid_refresh_token", fields=[("body.refresh_token", message)])


async def refresh(conn: Conn, settings: Settings, token: str, user_agent: str | None) -> TokenPair:
    """Rotate a refresh token; reuse of a rotated one revokes its whole family (committed) and is a 401."""
    reused = False
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT t.id, t.family_id, t.expires_at, t.rotated_at, t.revoked_at, now() AS now, "
            "u.id AS user_id, u.role, u.premium FROM refresh_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = %s FOR UPDATE OF t",
            (hash_refresh_token(token),),
        )
        row = await cur.fetchone()
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= row["now"]:
            raise _invalid_refresh("refresh token unknown, expired or revoked")
        if row["rotated_at"] is not None:
            await conn.execute("UPDATE refresh_tokens SET revoked_at = now() "
                               "WHERE family_id = %s AND revoked_at IS NULL", (row["family_id"],))
            reused = True
        else:
            user = {"id": row["user_id"], "role": row["role"], "premium": row["premium"]}
            pair, new_id = await _issue_tokens(conn, settings, user, row["family_id"], user_agent)
            await conn.execute("UPDATE refresh_tokens SET rotated_at = now(), replaced_by = %s WHERE id = %s",
                               (new_id, row["id"]))
    if reused:  # raised after the block so the revocation is committed
        raise _invalid_refresh("refresh token was already used; all sessions of this login were revoked")
    return pair


async def logout(conn: Conn, token: str) -> None:
    """Revoke the family of ``token`` (idempotent: an unknown token is not an error)."""
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = "
        "(SELECT family_id FROM refresh_tokens WHERE token_hash = %s)",
        (hash_refresh_token(token),),
    )


async def get_user(conn: Conn, user_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,))
    return await cur.fetchone()
