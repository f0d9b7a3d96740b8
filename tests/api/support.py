"""Helpers behind the API fixtures: test users and vehicles, settings as env vars, a live API process."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from api.settings import Settings
from tests.support.services import free_port, terminate, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PASSWORD = "correct-horse-battery"


@dataclass
class ApiUser:
    id: int
    email: str
    password: str
    role: str
    access_token: str
    refresh_token: str
    premium: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def vehicle_payload(**overrides: Any) -> dict[str, Any]:
    """A valid vehicle body (POST /v1/vehicles); override any field."""
    body: dict[str, Any] = {
        "island": "nassau", "make": "Toyota", "model": "RAV4", "year": 2022, "vehicle_type": "suv",
        "seats": 5, "transmission": "automatic", "fuel": "gasoline", "drive_side": "LHD",
        "daily_rate_cents": 8900, "weekly_discount_pct": 10, "monthly_discount_pct": 25,
        "security_deposit_cents": 25000, "delivery_fee_cents": 2500, "airport_fee_cents": 3500,
        "min_days": 1, "max_days": 30, "features": ["ac", "bluetooth"],
        "photo_urls": ["https://img.example.com/rav4.jpg"], "description": "Island-ready SUV", "listed": True,
    }
    body.update(overrides)
    return body


@dataclass
class Factory:
    """Creates users and vehicles through the API (and SQL where no endpoint exists, e.g. premium)."""

    client: httpx.AsyncClient
    database_url: str
    _conn: psycopg.AsyncConnection | None = field(default=None, repr=False)

    async def sql(self, query: str, params: Any = None) -> list[tuple]:
        """Run SQL against the test database (autocommit); returns the rows, if any."""
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
        cur = await self._conn.execute(query, params)
        return await cur.fetchall() if cur.description else []

    async def user(self, role: str = "renter", premium: bool = False, password: str = DEFAULT_PASSWORD) -> ApiUser:
        """Register and log in a user with a unique email."""
        email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
        resp = await self.client.post("/v1/auth/register", json={
            "email": email, "password": password, "full_name": f"Test {role.title()}", "role": role})
        assert resp.status_code == 201, resp.text
        user_id = resp.json()["id"]
        if premium:
            await self.sql("UPDATE users SET premium = true WHERE id = %s", (user_id,))
        tokens = await self.login(email, password)
        return ApiUser(user_id, email, password, role, tokens["access_token"], tokens["refresh_token"], premium)

    async def login(self, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
        resp = await self.client.post("/v1/auth/login", json={"email": email, "password": password})
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def renter(self, premium: bool = False) -> ApiUser:
        return await self.user("renter", premium)

    async def host(self) -> ApiUser:
        return await self.user("host")

    async def vehicle(self, host: ApiUser | None = None, **fields: Any) -> dict[str, Any]:
        """Create a vehicle through POST /v1/vehicles (a new host unless one is given)."""
        host = host or await self.host()
        resp = await self.client.post("/v1/vehicles", json=vehicle_payload(**fields), headers=host.headers)
        assert resp.status_code == 201, resp.text
        return resp.json()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as the environment variables a subprocess reads."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if isinstance(value, list):
            env[name.upper()] = ",".join(value)
        elif isinstance(value, (dict, tuple)):
            env[name.upper()] = json.dumps(value)
        else:
            env[name.upper()] = str(value)
    return env


@dataclass
class LiveApi:
    port: int
    proc: subprocess.Popen
    log_path: Path  # the server's stdout/stderr, removed after the test

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@contextlib.contextmanager
def live_api_process(env: dict[str, str], workers: int = 1) -> Iterator[LiveApi]:
    """``island-api serve`` in a subprocess on a free port; stopped (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="island-api-", suffix=".log", delete=False)  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)],
        env={**os.environ, **env}, cwd=str(REPO_ROOT), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30, proc=proc)
        yield LiveApi(port, proc, Path(log.name))
    finally:
        terminate(proc)
        log.close()
        os.unlink(log.name)
