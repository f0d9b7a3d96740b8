"""FastAPI dependencies: ``current_user``, ``optional_user`` and ``require_role(...)``.

The principal comes from the access token's claims alone (no query per request). Its id is put on
``request.state.user_id`` (the ASGI scope's state), where the access log and the rate limiter find it.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.tokens import InvalidToken, Principal, decode_access_token
from api.errors import APIError

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /v1/auth/login")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="island-rides"'}


def _unauthorized(message: str) -> APIError:
    return APIError(401, message, fields=[("header.authorization", message)], headers=_CHALLENGE)


def principal_from_request(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal | None:
    """Decode the bearer token if one was sent; raise 401 if it is present but not valid."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise _unauthorized("authorization header must be 'Bearer <token>'")
        return None
    try:
        principal = decode_access_token(request.app.state.settings, credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from None
    request.state.user_id = principal.user_id
    return principal


async def optional_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal | None:
    """The caller if a valid token was sent, None for anonymous calls (a bad token is still a 401)."""
    return principal_from_request(request, credentials)


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The authenticated caller; 401 envelope when the token is missing, tampered with or expired."""
    principal = principal_from_request(request, credentials)
    if principal is None:
        raise _unauthorized("authentication required")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only callers with one of ``roles`` (403 otherwise)."""

    async def dependency(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise APIError(403, f"this action requires role {' or '.join(roles)}")
        return user

    return dependency
