"""GET /v1/vehicles: filters, sorts and keyset pagination over listed vehicles.

The query is normalised (sorted lists, explicit defaults) before anything else: the same normal form
keys the cache and is bound into the cursor, so equivalent URLs share a cache entry and a cursor works
only for the query that produced it. Pagination is keyset ("seek"), stable under inserts and O(limit).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import sql

from api.cursor import decode_cursor, encode_cursor, query_digest
from api.db import Conn
from api.errors import APIError, field_error
from api.vehicles.repository import ISLAND_IDS, SELECT_VEHICLE, to_out

ISLAND_TZ = ZoneInfo("America/Nassau")
MAX_LIMIT = 50
FEATURE_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
LIVE_BOOKING = "b.status NOT IN ('cancelled', 'declined', 'expired')"

# sort -> (ORDER BY, keyset comparison, SQL expressions of the sort key in order)
SORTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "newest": ("v.created_at DESC, v.id DESC", "<", ("v.created_at", "v.id")),
    "price_asc": ("v.daily_rate_cents ASC, v.id ASC", ">", ("v.daily_rate_cents", "v.id")),
    "price_desc": ("v.daily_rate_cents DESC, v.id DESC", "<", ("v.daily_rate_cents", "v.id")),
    "rating": ("coalesce(r.rating_avg, 0)::float8 DESC, v.id DESC", "<",
               ("coalesce(r.rating_avg, 0)::float8", "v.id")),
}


@dataclass(frozen=True)
class SearchQuery:
    """A validated, normalised search (everything that changes the result set, without the cursor)."""

    island: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    vehicle_type: tuple[str, ...] = ()
    seats_min: int | None = None
    price_min: int | None = None
    price_max: int | None = None
    transmission: str | None = None
    fuel: str | None = None
    drive_side: str | None = None
    features: tuple[str, ...] = ()
    sort: str = "newest"

    def normal_form(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def today_on_the_islands() -> date:
    return datetime.now(ISLAND_TZ).date()


def build_query(*, island: str | None, start_date: date | None, end_date: date | None,
                vehicle_type: list[str], seats_min: int | None, price_min: int | None, price_max: int | None,
                transmission: str | None, fuel: str | None, drive_side: str | None, features: list[str],
                sort: str) -> SearchQuery:
    """Check the cross-field rules (422 naming the field) and normalise."""
    if (start_date is None) != (end_date is None):
        missing = "query.end_date" if end_date is None else "query.start_date"
        raise field_error(missing, "start_date and end_date must be given together")
    if start_date is not None and end_date is not None:
        if start_date < today_on_the_islands():
            raise field_error("query.start_date", "must not be in the past")
        if end_date <= start_date:
            raise field_error("query.end_date", "must be after start_date")
    if price_min is not None and price_max is not None and price_min > price_max:
        raise field_error("query.price_max", "must be at least price_min")
    split_features = sorted({f.strip().lower() for item in features for f in item.split(",") if f.strip()})
    for feature in split_features:
        if not FEATURE_RE.match(feature):
            raise field_error("query.features", "each feature is 1-40 of a-z, 0-9, '_' or '-'")
    return SearchQuery(
        island=island, start_date=start_date.isoformat() if start_date else None,
        end_date=end_date.isoformat() if end_date else None, vehicle_type=tuple(sorted(set(vehicle_type))),
        seats_min=seats_min, price_min=price_min, price_max=price_max, transmission=transmission, fuel=fuel,
        drive_side=drive_side, features=tuple(split_features), sort=sort)


def _filters(q: SearchQuery) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = ["v.listed"]
    params: dict[str, Any] = {}
    simple = {"v.island_id": ISLAND_IDS.get(q.island) if q.island else None, "v.transmission": q.transmission,
              "v.fuel": q.fuel, "v.drive_side": q.drive_side}
    for i, (column, value) in enumerate(simple.items()):
        if value is not None:
            where.append(f"{column} = %(f{i})s")
            params[f"f{i}"] = value
    if q.vehicle_type:
        where.append("v.vehicle_type = ANY(%(types)s)")
        params["types"] = list(q.vehicle_type)
    if q.seats_min is not None:
        where.append("v.seats >= %(seats_min)s")
        params["seats_min"] = q.seats_min
    if q.price_min is not None:
        where.append("v.daily_rate_cents >= %(price_min)s")
        params["price_min"] = q.price_min
    if q.price_max is not None:
        where.append("v.daily_rate_cents <= %(price_max)s")
        params["price_max"] = q.price_max
    if q.features:
        where.append("v.features @> %(features)s::text[]")
        params["features"] = list(q.features)
    if q.start_date and q.end_date:
        nights = (date.fromisoformat(q.end_date) - date.fromisoformat(q.start_date)).days
        where.append("%(nights)s BETWEEN v.min_days AND v.max_days")
        where.append(f"NOT EXISTS (SELECT 1 FROM bookings b WHERE b.vehicle_id = v.id AND {LIVE_BOOKING} "
                     "AND b.period && daterange(%(start)s::date, %(end)s::date, '[)'))")
        params.update(nights=nights, start=q.start_date, end=q.end_date)
    return where, params


def _position_params(sort: str, position: list[Any]) -> dict[str, Any]:
    """The cursor's position as typed SQL parameters (a signed cursor still gets its types checked)."""
    try:
        first, last_id = position
        if sort == "newest":
            first = datetime.fromisoformat(first)
        elif sort == "rating":
            first = float(first)
        else:
            first = int(first)
        return {"k0": first, "k1": int(last_id)}
    except (TypeError, ValueError):
        raise APIError(400, "cursor: malformed cursor", code="invalid_cursor",
                       fields=[("query.cursor", "malformed cursor")]) from None


async def search_vehicles(conn: Conn, q: SearchQuery, limit: int, cursor: str | None,
                          cursor_key: bytes) -> dict[str, Any]:
    """One page of results: ``{"items", "next_cursor", "limit"}``."""
    digest = query_digest(q.normal_form())
    where, params = _filters(q)
    order_by, op, key_exprs = SORTS[q.sort]
    if cursor:
        params.update(_position_params(q.sort, decode_cursor(cursor_key, cursor, digest)))
        where.append(f"({key_exprs[0]}, {key_exprs[1]}) {op} (%(k0)s, %(k1)s)")
    params["limit"] = limit + 1  # one more row tells whether there is a next page
    select = SELECT_VEHICLE.replace("SELECT ", f"SELECT {key_exprs[0]} AS sort_key, ", 1)
    query = select + " WHERE " + " AND ".join(where) + f" ORDER BY {order_by} LIMIT %(limit)s"
    cur = await conn.execute(sql.SQL(query), params)  # type: ignore[arg-type]
    rows = await cur.fetchall()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        first = last["sort_key"]
        first = first.isoformat() if isinstance(first, datetime) else first
        next_cursor = encode_cursor(cursor_key, [first, last["id"]], digest)
    items = []
    for row in rows:
        row.pop("sort_key", None)
        items.append(to_out(row))
    return {"items": items, "next_cursor": next_cursor, "limit": limit}
