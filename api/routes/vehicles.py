"""Vehicles: public search and detail (cached), and the host's own listings (never cached)."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from api import cache
from api.auth.deps import OptionalUser, require_role
from api.auth.tokens import Principal
from api.db import DbConn, DbPool
from api.errors import ErrorEnvelope, field_error, not_found
from api.vehicles import repository as repo
from api.vehicles.schemas import (
    DriveSide,
    Fuel,
    Island,
    SortOrder,
    Transmission,
    VehicleCreate,
    VehicleFields,
    VehicleOut,
    VehiclePage,
    VehicleType,
)
from api.vehicles.search import MAX_LIMIT, build_query, search_vehicles

router = APIRouter(tags=["vehicles"], responses={422: {"model": ErrorEnvelope}, 400: {"model": ErrorEnvelope}})
Host = Annotated[Principal, Depends(require_role("host"))]
VehicleId = Annotated[int, Path(ge=1, le=2**62, description="vehicle id")]
JSON = "application/json"


def _json(body: bytes, hit: bool | None = None, status_code: int = 200) -> Response:
    headers = {} if hit is None else {"X-Cache": "HIT" if hit else "MISS"}
    return Response(body, status_code=status_code, media_type=JSON, headers=headers)


@router.get("/v1/vehicles", response_model=VehiclePage)
async def search(
    request: Request, pool: DbPool,
    island: Island | None = None,
    start_date: Annotated[date | None, Query(description="pick-up date (YYYY-MM-DD); needs end_date")] = None,
    end_date: Annotated[date | None, Query(description="return date, after start_date")] = None,
    vehicle_type: Annotated[list[VehicleType] | None, Query(max_length=12)] = None,
    seats_min: Annotated[int | None, Query(ge=1, le=15)] = None,
    price_min: Annotated[int | None, Query(ge=0, le=10_000_000, description="daily rate, cents")] = None,
    price_max: Annotated[int | None, Query(ge=0, le=10_000_000, description="daily rate, cents")] = None,
    transmission: Transmission | None = None,
    fuel: Fuel | None = None,
    drive_side: DriveSide | None = None,
    features: Annotated[list[str] | None, Query(max_length=30,
                                                description="all of these (repeat or comma-separate)")] = None,
    sort: SortOrder = "newest",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=600)] = None,
) -> Response:
    """Listed vehicles matching every filter; with dates, only vehicles free for the whole stay."""
    query = build_query(island=island, start_date=start_date, end_date=end_date, vehicle_type=list(vehicle_type or []),
                        seats_min=seats_min, price_min=price_min, price_max=price_max, transmission=transmission,
                        fuel=fuel, drive_side=drive_side, features=features or [], sort=sort)
    settings = request.app.state.settings

    async def load() -> dict[str, Any]:  # a connection only on a cache miss (see api.db.get_pool)
        async with pool.connection() as conn:
            return await search_vehicles(conn, query, limit, cursor, settings.cursor_key)

    normalised = {**query.normal_form(), "limit": limit, "cursor": cursor}
    body, hit = await cache.cached_search(request.app.state.redis, normalised, settings.cache_ttl_s, load)
    return _json(body, hit)


@router.get("/v1/vehicles/{vehicle_id}", response_model=VehicleOut, responses={404: {"model": ErrorEnvelope}})
async def detail(vehicle_id: VehicleId, request: Request, pool: DbPool, user: OptionalUser) -> Response:
    """One vehicle with its rating; an unlisted one only for its host."""
    async def load() -> dict[str, Any] | None:  # a connection only on a cache miss (see api.db.get_pool)
        async with pool.connection() as conn:
            return await repo.get_vehicle(conn, vehicle_id)

    body, hit = await cache.cached_vehicle(request.app.state.redis, vehicle_id, request.app.state.settings.cache_ttl_s,
                                           load)
    vehicle = orjson.loads(body)
    if vehicle is None or (not vehicle["listed"] and (user is None or user.user_id != vehicle["host_id"])):
        raise not_found("vehicle")
    return _json(body, hit)


@router.post("/v1/vehicles", status_code=status.HTTP_201_CREATED, response_model=VehicleOut,
             responses={401: {"model": ErrorEnvelope}, 403: {"model": ErrorEnvelope}})
async def create(body: VehicleCreate, host: Host, request: Request, conn: DbConn) -> Response:
    """List a new vehicle (hosts only)."""
    vehicle = await repo.create_vehicle(conn, host.user_id, body.model_dump())
    await cache.invalidate_vehicle(request.app.state.redis, vehicle["id"])
    return _json(orjson.dumps(vehicle), status_code=201)


@router.patch("/v1/vehicles/{vehicle_id}", response_model=VehicleOut,
              responses={401: {"model": ErrorEnvelope}, 403: {"model": ErrorEnvelope}, 404: {"model": ErrorEnvelope}})
async def update(vehicle_id: VehicleId, body: VehicleFields, host: Host, request: Request, conn: DbConn) -> Response:
    """Change some fields of one of the host's vehicles (e.g. ``{"listed": false}`` to unlist it)."""
    fields = body.model_dump(exclude_unset=True)
    nulls = [k for k, v in fields.items() if v is None]
    if nulls:
        raise field_error(f"body.{nulls[0]}", "may not be null")
    vehicle = await repo.update_vehicle(conn, vehicle_id, host.user_id, fields)
    await cache.invalidate_vehicle(request.app.state.redis, vehicle_id)
    return _json(orjson.dumps(vehicle))


@router.delete("/v1/vehicles/{vehicle_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={403: {"model": ErrorEnvelope}, 404: {"model": ErrorEnvelope}, 409: {"model": ErrorEnvelope}})
async def delete(vehicle_id: VehicleId, host: Host, request: Request, conn: DbConn) -> Response:
    """Remove a vehicle that was never booked."""
    await repo.delete_vehicle(conn, vehicle_id, host.user_id)
    await cache.invalidate_vehicle(request.app.state.redis, vehicle_id)
    return Response(status_code=204)


@router.get("/v1/host/vehicles", response_model=list[VehicleOut], responses={401: {"model": ErrorEnvelope}})
async def my_vehicles(host: Host, conn: DbConn) -> Response:
    """The calling host's vehicles, listed and unlisted (per-user: never cached)."""
    return _json(orjson.dumps(await repo.host_vehicles(conn, host.user_id)))


@router.get("/v1/islands")
async def islands(conn: DbConn) -> list[dict[str, Any]]:
    """The islands vehicles can be on."""
    cur = await conn.execute("SELECT slug, name FROM islands ORDER BY id")
    return await cur.fetchall()
