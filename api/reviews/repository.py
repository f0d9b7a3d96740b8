"""SQL for reviews and the vehicle_ratings materialized view."""
from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

REVIEW_COLUMNS = "r.id, r.booking_id, r.vehicle_id, r.renter_id, u.full_name AS renter_name, r.rating, " \
                 "r.comment, r.created_at"


async def booking_for_review(conn: AsyncConnection[Any], booking_id: int) -> dict[str, Any] | None:
    """The booking's parties, vehicle and status (None when it does not exist)."""
    cur = await conn.execute(
        "SELECT id, renter_id, host_id, vehicle_id, status FROM bookings WHERE id = %s", (booking_id,)
    )
    return await cur.fetchone()


async def insert_review(conn: AsyncConnection[Any], booking: dict[str, Any], rating: int,
                        comment: str) -> dict[str, Any]:
    """Insert the booking's review; psycopg.errors.UniqueViolation when it already has one."""
    cur = await conn.execute(
        f"""
        WITH r AS (
            INSERT INTO reviews (booking_id, vehicle_id, renter_id, rating, comment)
            VALUES (%s, %s, %s, %s, %s)
            RETURNING *
        )
        SELECT {REVIEW_COLUMNS} FROM r JOIN users u ON u.id = r.renter_id
        """,
        (booking["id"], booking["vehicle_id"], booking["renter_id"], rating, comment),
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def vehicle_exists(conn: AsyncConnection[Any], vehicle_id: int) -> bool:
    cur = await conn.execute("SELECT 1 FROM vehicles WHERE id = %s AND listed", (vehicle_id,))
    return await cur.fetchone() is not None


async def list_reviews(conn: AsyncConnection[Any], vehicle_id: int, *, limit: int,
                       before: tuple[str, int] | None) -> list[dict[str, Any]]:
    """Newest first; ``before`` is the (created_at ISO, id) of the last row of the previous page."""
    bound = "AND (r.created_at, r.id) < (%(ts)s::timestamptz, %(id)s)" if before else ""
    cur = await conn.execute(
        f"SELECT {REVIEW_COLUMNS} FROM reviews r JOIN users u ON u.id = r.renter_id"
        f" WHERE r.vehicle_id = %(v)s {bound} ORDER BY r.created_at DESC, r.id DESC LIMIT %(limit)s",
        {"v": vehicle_id, "ts": before[0] if before else None, "id": before[1] if before else None,
         "limit": limit},
    )
    return await cur.fetchall()


async def rating_summary(conn: AsyncConnection[Any], vehicle_id: int) -> dict[str, Any]:
    """Count and average from the materialized view (as of its last refresh)."""
    cur = await conn.execute(
        "SELECT review_count, rating_avg FROM vehicle_ratings WHERE vehicle_id = %s", (vehicle_id,)
    )
    row = await cur.fetchone()
    if row is None:
        return {"review_count": 0, "rating_avg": None}
    return {"review_count": row["review_count"], "rating_avg": float(row["rating_avg"])}
