"""Reviews: POST /v1/bookings/{id}/review (the renter of a completed booking, once) and
GET /v1/vehicles/{id}/reviews (public, newest first, cursor-paged).

The vehicle's count and average come from the vehicle_ratings materialized view, refreshed (debounced,
CONCURRENTLY) shortly after each new review, so they lag a new review by a couple of seconds.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from psycopg import errors as pg_errors
from pydantic import BaseModel, Field, field_validator

from api.auth.deps import CurrentUser
from api.chat.paging import cursor_key
from api.cursor import decode_cursor, encode_cursor, query_digest
from api.db import DbConn
from api.errors import APIError, ErrorEnvelope, field_error, not_found
from api.reviews import repository

router = APIRouter(tags=["reviews"], responses={401: {"model": ErrorEnvelope}, 404: {"model": ErrorEnvelope}})

MAX_COMMENT_CHARS = 2_000
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


class ReviewIn(BaseModel):
    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)

    @field_validator("comment")
    @classmethod
    def _storable(cls, value: str) -> str:
        if "\x00" in value:  # Postgres text cannot hold NUL
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a \ud800-style JSON escape
            raise ValueError("is not valid Unicode") from None
        return value.strip()


class ReviewOut(BaseModel):
    id: int
    booking_id: int
    vehicle_id: int
    renter_id: int
    renter_name: str
    rating: int
    comment: str
    created_at: dt.datetime


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page; null at the end")
    review_count: int = Field(description="from vehicle_ratings, as of its last refresh")
    rating_avg: float | None


@router.post("/v1/bookings/{booking_id}/review", status_code=201, response_model=ReviewOut,
             responses={403: {"model": ErrorEnvelope}, 409: {"model": ErrorEnvelope}})
async def create_review(booking_id: Id, body: ReviewIn, user: CurrentUser, conn: DbConn,
                        request: Request) -> dict:
    """Review a completed booking. Only its renter, only once (409 the second time)."""
    booking = await repository.booking_for_review(conn, booking_id)
    if booking is None or user.user_id not in (booking["renter_id"], booking["host_id"]):
        raise not_found("booking")  # a stranger's booking is indistinguishable from a missing one
    if user.user_id != booking["renter_id"]:
        raise APIError(403, "only the renter of a booking can review it")
    if booking["status"] != "completed":
        raise APIError(409, f"only a completed booking can be reviewed (this one is {booking['status']})",
                       extra={"status": booking["status"]})
    try:
        review = await repository.insert_review(conn, booking, body.rating, body.comment)
    except pg_errors.UniqueViolation:
        raise APIError(409, "this booking already has a review", code="already_reviewed") from None
    request.app.state.ratings_refresher.request(booking["vehicle_id"])
    return review


@router.get("/v1/vehicles/{vehicle_id}/reviews", response_model=ReviewPage,
            responses={400: {"model": ErrorEnvelope}})
async def list_reviews(vehicle_id: Id, conn: DbConn, request: Request,
                       limit: Annotated[int, Query(ge=1, le=50)] = 20,
                       cursor: Annotated[str | None, Query(max_length=512)] = None) -> dict:
    """A vehicle's reviews, newest first, with its rating count and average."""
    if not await repository.vehicle_exists(conn, vehicle_id):
        raise not_found("vehicle")
    key, digest = cursor_key(request.app.state.settings), query_digest({"reviews": vehicle_id})
    before = None
    if cursor is not None:
        position = decode_cursor(key, cursor, digest)
        if len(position) != 2 or not isinstance(position[0], str) or not isinstance(position[1], int):
            raise field_error("query.cursor", "malformed cursor", 400)
        before = (position[0], position[1])
    rows = await repository.list_reviews(conn, vehicle_id, limit=limit + 1, before=before)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(key, [last["created_at"].isoformat(), last["id"]], digest)
    return {"items": rows, "next_cursor": next_cursor, **await repository.rating_summary(conn, vehicle_id)}
