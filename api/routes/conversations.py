"""Chat over REST: the caller's conversations and their message history.

- ``GET /v1/conversations``: the caller's conversations (one per booking they rent or host; created on
  first access), most recently active first.
- ``GET /v1/bookings/{id}/conversation``: the conversation of one booking (created on first access).
- ``GET /v1/conversations/{id}/messages?order=desc|asc&limit=&cursor=``: history, paged by an opaque
  cursor. ``order=desc`` (default) starts with the newest message and pages back in time (a chat
  window scrolling up); ``order=asc`` starts with the oldest and pages forward (catching up). Pass
  ``next_cursor`` back with the same ``order``; it is null on the last page.
- ``POST /v1/conversations/{id}/messages``: send a message (also delivered live to WebSocket clients).

Only the booking's renter and host may read or write: 404 for an unknown conversation, 403 for others.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from api.auth.deps import CurrentUser
from api.chat import repository, service
from api.chat.frames import MAX_MESSAGE_CHARS, FrameError, validate_body
from api.chat.paging import cursor_key
from api.cursor import decode_cursor, encode_cursor, query_digest
from api.db import DbConn
from api.errors import ErrorEnvelope, field_error, not_found

router = APIRouter(tags=["chat"], responses={401: {"model": ErrorEnvelope}, 403: {"model": ErrorEnvelope},
                                              404: {"model": ErrorEnvelope}})

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


class ConversationOut(BaseModel):
    id: int
    booking_id: int
    renter_id: int
    host_id: int
    vehicle_id: int
    booking_status: str
    start_date: dt.date
    end_date: dt.date
    created_at: dt.datetime
    last_message_at: dt.datetime | None


class ConversationList(BaseModel):
    items: list[ConversationOut]


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    sender_id: int
    body: str
    created_at: dt.datetime


class MessagePage(BaseModel):
    items: list[MessageOut]
    order: Literal["desc", "asc"]
    next_cursor: str | None = Field(description="pass as ?cursor= (same order) for the next page")


@router.get("/v1/conversations", response_model=ConversationList)
async def my_conversations(user: CurrentUser, conn: DbConn) -> dict:
    """The caller's conversations, most recently active first."""
    return {"items": await repository.list_for_user(conn, user.user_id)}


@router.get("/v1/bookings/{booking_id}/conversation", response_model=ConversationOut)
async def booking_conversation(booking_id: Id, user: CurrentUser, conn: DbConn) -> dict:
    """The conversation between the booking's renter and host (created on first access)."""
    conversation = await repository.for_booking(conn, booking_id, user.user_id)
    if conversation is None:
        raise not_found("booking")
    return conversation


@router.get("/v1/conversations/{conversation_id}/messages", response_model=MessagePage,
            responses={400: {"model": ErrorEnvelope}})
async def list_messages(conversation_id: Id, user: CurrentUser, conn: DbConn, request: Request,
                        order: Literal["desc", "asc"] = "desc",
                        limit: Annotated[int, Query(ge=1, le=100)] = 50,
                        cursor: Annotated[str | None, Query(max_length=512)] = None) -> dict:
    """One page of the conversation's messages (see the module docs for ``order`` and ``cursor``)."""
    await service.require_participant(conn, conversation_id, user.user_id)
    key, digest = cursor_key(request.app.state.settings), query_digest({"messages": conversation_id,
                                                                         "order": order})
    after_id = None
    if cursor is not None:
        position = decode_cursor(key, cursor, digest)
        if len(position) != 1 or not isinstance(position[0], int):
            raise field_error("query.cursor", "malformed cursor", 400)
        after_id = position[0]
    rows = await repository.list_messages(conn, conversation_id, order=order, limit=limit + 1, after_id=after_id)
    next_cursor = encode_cursor(key, [rows[limit - 1]["id"]], digest) if len(rows) > limit else None
    return {"items": rows[:limit], "order": order, "next_cursor": next_cursor}


@router.post("/v1/conversations/{conversation_id}/messages", status_code=201, response_model=MessageOut,
             responses={422: {"model": ErrorEnvelope}})
async def post_message(conversation_id: Id, body: MessageIn, user: CurrentUser, conn: DbConn,
                       request: Request) -> dict:
    """Send a message; WebSocket clients of the conversation receive it live."""
    await service.require_participant(conn, conversation_id, user.user_id)
    try:
        text = validate_body(body.body)
    except FrameError as exc:
        raise field_error("body.body", str(exc)) from None
    return await service.post_message(conn, request.app.state.chat_fanout, conversation_id, user.user_id, text)
