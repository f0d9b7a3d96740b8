"""GET /livez and GET /readyz: answered from process state, never with a query per request."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["probes"])


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process is alive and its event loop answers."""
    return {"status": "pass"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database pool is open and the migrations were found applied (checked at start)."""
    readiness = request.app.state.readiness
    checks = {"database:pool": not request.app.state.pool.closed,
              "database:migrations": await readiness.migrations_applied()}
    ok = all(checks.values())
    body = {"status": "pass" if ok else "fail",
            "checks": {name: "pass" if passed else "fail" for name, passed in checks.items()}}
    return JSONResponse(body, status_code=200 if ok else 503)
