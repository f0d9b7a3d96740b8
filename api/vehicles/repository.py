"""SQL for vehicles: create, update, delete, read (with the rating from the materialized view)."""
from __future__ import annotations

from typing import Any

from psycopg import errors as pg_errors
from psycopg import sql

from api.db import Conn
from api.errors import APIError, field_error, not_found

ISLAND_IDS = {"nassau": 1, "freeport": 2, "exuma": 3}

# Columns a host writes directly (island is translated to island_id).
WRITABLE = ("make", "model", "year", "vehicle_type", "seats", "transmission", "fuel", "drive_side",
            "daily_rate_cents", "weekly_discount_pct", "monthly_discount_pct", "security_deposit_cents",
            "delivery_fee_cents", "airport_fee_cents", "min_days", "max_days", "features", "photo_urls",
            "description", "listed")

SELECT_VEHICLE = """
SELECT v.id, v.host_id, i.slug AS island, i.name AS island_name, v.make, v.model, v.year, v.vehicle_type,
       v.seats, v.transmission, v.fuel, v.drive_side, v.daily_rate_cents, v.weekly_discount_pct,
       v.monthly_discount_pct, v.security_deposit_cents, v.delivery_fee_cents, v.airport_fee_cents,
       v.min_days, v.max_days, v.features, v.photo_urls, v.description, v.listed, v.created_at, v.updated_at,
       coalesce(r.review_count, 0) AS review_count, r.rating_avg::float8 AS rating_avg
FROM vehicles v
JOIN islands i ON i.id = v.island_id
LEFT JOIN vehicle_ratings r ON r.vehicle_id = v.id
"""


def to_out(row: dict[str, Any]) -> dict[str, Any]:
    """A vehicle row as the API shows it (rating nested)."""
    out = dict(row)
    out["rating"] = {"count": out.pop("review_count"), "average": out.pop("rating_avg")}
    return out


def _db_values(fields: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in fields.items() if k in WRITABLE}
    if "photo_urls" in values:
        values["photo_urls"] = [str(u) for u in values["photo_urls"]]
    if "features" in values:
        values["features"] = sorted(set(values["features"]))
    if "island" in fields:
        values["island_id"] = ISLAND_IDS[fields["island"]]
    return values


def check_day_limits(min_days: int, max_days: int) -> None:
    if min_days > max_days:
        raise field_error("body.max_days", f"must be at least min_days ({min_days})")


async def get_vehicle(conn: Conn, vehicle_id: int) -> dict[str, Any] | None:
    """The vehicle with its rating, listed or not (None if unknown)."""
    cur = await conn.execute(SELECT_VEHICLE + " WHERE v.id = %s", (vehicle_id,))
    row = await cur.fetchone()
    return to_out(row) if row else None


async def create_vehicle(conn: Conn, host_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    check_day_limits(fields["min_days"], fields["max_days"])
    values = {**_db_values(fields), "host_id": host_id}
    query = sql.SQL("INSERT INTO vehicles ({cols}) VALUES ({vals}) RETURNING id").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, values)),
        vals=sql.SQL(", ").join(sql.Placeholder(k) for k in values))
    cur = await conn.execute(query, values)
    row = await cur.fetchone()
    assert row is not None
    created = await get_vehicle(conn, row["id"])
    assert created is not None
    return created


async def owned_vehicle(conn: Conn, vehicle_id: int, host_id: int, *, for_update: bool = False) -> dict[str, Any]:
    """The vehicle if ``host_id`` owns it: 404 if unknown, 403 if someone else's."""
    lock = " FOR UPDATE" if for_update else ""
    cur = await conn.execute(f"SELECT id, host_id, min_days, max_days FROM vehicles WHERE id = %s{lock}",
                             (vehicle_id,))
    row = await cur.fetchone()
    if row is None:
        raise not_found("vehicle")
    if row["host_id"] != host_id:
        raise APIError(403, "this vehicle belongs to another host")
    return row


async def update_vehicle(conn: Conn, vehicle_id: int, host_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial update (only the fields sent) to the host's own vehicle."""
    async with conn.transaction():
        current = await owned_vehicle(conn, vehicle_id, host_id, for_update=True)
        check_day_limits(fields.get("min_days", current["min_days"]), fields.get("max_days", current["max_days"]))
        values = _db_values(fields)
        if values:
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values)
            await conn.execute(sql.SQL("UPDATE vehicles SET {a}, updated_at = now() WHERE id = %(id)s").format(
                a=assignments), {**values, "id": vehicle_id})
    updated = await get_vehicle(conn, vehicle_id)
    assert updated is not None
    return updated


async def delete_vehicle(conn: Conn, vehicle_id: int, host_id: int) -> None:
    """Delete a vehicle that never had a booking; one with bookings can only be unlisted (409)."""
    async with conn.transaction():
        await owned_vehicle(conn, vehicle_id, host_id, for_update=True)
        try:
            async with conn.transaction():
                await conn.execute("DELETE FROM vehicles WHERE id = %s", (vehicle_id,))
        except pg_errors.ForeignKeyViolation:
            raise APIError(409, "this vehicle has bookings: unlist it instead (PATCH listed=false)",
                           code="vehicle_has_bookings") from None


async def host_vehicles(conn: Conn, host_id: int) -> list[dict[str, Any]]:
    """All of a host's vehicles, listed or not, newest first."""
    cur = await conn.execute(SELECT_VEHICLE + " WHERE v.host_id = %s ORDER BY v.created_at DESC, v.id DESC",
                             (host_id,))
    return [to_out(row) for row in await cur.fetchall()]
