"""Access tokens (HS256 JWT, short-lived) and opaque refresh tokens (stored only as a SHA-256)."""
from __future__ import annotations

import hashlib
import math
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from api.settings import Settings

ALGORITHM = "HS256"
ISSUER = "island-rides"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid access token belongs to (read from its claims, no database round trip).

    ``expires_at`` is the token's ``exp`` claim (Unix seconds): long-lived connections authenticated
    once (the chat WebSocket) end when it passes. ``math.inf`` when not known (never expires).
    """

    user_id: int
    role: str
    premium: bool
    expires_at: float = math.inf


class InvalidToken(Exception):
    """The token is missing a claim, tampered with, or expired; the message says which."""


def create_access_token(settings: Settings, user_id: int, role: str, premium: bool) -> str:
    """A signed JWT with sub, role, premium, iat, exp and a unique jti."""
    now = int(time.time())
    claims = {"sub": str(user_id), "role": role, "premium": premium, "iat": now,
              "exp": now + settings.access_token_ttl_s, "jti": uuid.uuid4().hex, "iss": ISSUER}
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> Principal:
    """Verify signature, expiry and claims; raise InvalidToken with a short reason."""
    try:
        claims = jwt.decode(token, settings.jwt_secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["sub", "exp", "iat", "jti", "role"]})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("access token expired") from None
    except jwt.PyJWTError:
        raise InvalidToken("access token invalid") from None
    try:
        return Principal(user_id=int(claims["sub"]), role=str(claims["role"]),
                         premium=bool(claims.get("premium", False)), expires_at=float(claims["exp"]))
    except (TypeError, ValueError):
        raise InvalidToken("access token invalid") from None


def new_refresh_token() -> str:
    """A fresh opaque refresh token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> bytes:
    """What is stored and looked up: the token itself never reaches the database."""
    return hashlib.sha256(token.encode()).digest()
