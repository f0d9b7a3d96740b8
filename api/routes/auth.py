"""Accounts and sessions: /v1/auth/register, /login, /refresh, /logout."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, EmailStr, Field

from api.auth import service
from api.db import DbConn
from api.errors import ErrorEnvelope
from api.validation import ApiModel

router = APIRouter(prefix="/v1/auth", tags=["auth"],
                   responses={422: {"model": ErrorEnvelope}, 400: {"model": ErrorEnvelope}})


class RegisterIn(ApiModel):
    email: EmailStr
    password: str = Field(min_length=10, max_length=128)
    full_name: str = Field(min_length=1, max_length=120)
    role: Literal["renter", "host"] = "renter"  # admin accounts are never self-registered
    phone: str | None = Field(None, pattern=r"^\+?[0-9 ()\-]{7,20}$")


class UserOut(BaseModel):
    id: int
    email: str
    full_name: str
    phone: str | None
    role: str
    premium: bool


class LoginIn(ApiModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(ApiModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut,
             responses={409: {"model": ErrorEnvelope}})
async def register(body: RegisterIn, conn: DbConn, request: Request) -> dict:
    """Create a renter or host account."""
    return await service.register_user(conn, request.app.state.settings, email=body.email, password=body.password,
                                       full_name=body.full_name, role=body.role, phone=body.phone)


@router.post("/login", response_model=TokenOut,
             responses={401: {"model": ErrorEnvelope}, 423: {"model": ErrorEnvelope}})
async def login(body: LoginIn, conn: DbConn, request: Request) -> TokenOut:
    """Exchange email and password for an access token (15 min) and a refresh token."""
    pair = await service.login(conn, request.app.state.settings, body.email, body.password,
                               request.headers.get("user-agent"))
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/refresh", response_model=TokenOut, responses={401: {"model": ErrorEnvelope}})
async def refresh(body: RefreshIn, conn: DbConn, request: Request) -> TokenOut:
    """Rotate the refresh token: the old one stops working, reusing it revokes the session."""
    pair = await service.refresh(conn, request.app.state.settings, body.refresh_token,
                                 request.headers.get("user-agent"))
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshIn, conn: DbConn) -> None:
    """Revoke the session (the refresh token's family). Access tokens expire on their own."""
    await service.logout(conn, body.refresh_token)
