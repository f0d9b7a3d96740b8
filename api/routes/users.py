"""The caller's own account: GET /v1/users/me."""
from __future__ import annotations

from fastapi import APIRouter

from api.auth import service
from api.auth.deps import CurrentUser
from api.db import DbConn
from api.errors import ErrorEnvelope, not_found
from api.routes.auth import UserOut

router = APIRouter(prefix="/v1/users", tags=["users"], responses={401: {"model": ErrorEnvelope}})


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser, conn: DbConn) -> dict:
    """The authenticated user's profile."""
    row = await service.get_user(conn, user.user_id)
    if row is None:  # the account was deleted after the token was issued
        raise not_found("user")
    return row
