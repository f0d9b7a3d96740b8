"""The PostgreSQL connection pool and the FastAPI dependencies that lend it to a request: ``DbConn`` (a
connection for the whole request) and ``DbPool`` (the pool, for handlers that borrow only when needed).

Connections are in autocommit mode and return rows as dicts: a single statement commits on its own, and
code that needs several statements to be atomic wraps them in ``async with conn.transaction():``. That
keeps a failed request from leaving a connection idle in a transaction, and lets a handler commit one
thing (e.g. revoking a token family) before answering with an error.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from api.settings import Settings

Conn = AsyncConnection[DictRow]


def create_pool(settings: Settings) -> AsyncConnectionPool[Conn]:
    """A closed pool configured from the settings; open it with ``await pool.open()``."""
    return AsyncConnectionPool(
        connection_class=AsyncConnection[DictRow],
        conninfo=settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout_s,  # how long a request waits for a free connection
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            "connect_timeout": max(1, int(settings.db_connect_timeout_s)),
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "application_name": settings.service_name,
        },
        open=False,
        name="api",
    )


async def get_conn(request: Request) -> AsyncIterator[Conn]:
    """FastAPI dependency: a pooled connection for the duration of the request."""
    pool: AsyncConnectionPool[Conn] = request.app.state.pool
    async with pool.connection() as conn:
        yield conn


DbConn = Annotated[Conn, Depends(get_conn)]


async def get_pool(request: Request) -> AsyncConnectionPool[Conn]:
    """FastAPI dependency: the pool itself, for handlers that may answer without the database.

    The cached reads (vehicle search and detail) take a connection only when the cache misses. With
    ``DbConn`` a cache hit held a connection for the whole request, Redis round trip included, so under
    load cached reads queued for the pool (10 connections for wrk's 16 requests in flight in
    benchmarks.telemetry: 16 asyncio lock acquisitions a request, counted with cProfile). ``async def``:
    FastAPI runs a plain ``def`` dependency in its thread pool.
    """
    pool: AsyncConnectionPool[Conn] = request.app.state.pool
    return pool


DbPool = Annotated[AsyncConnectionPool[Conn], Depends(get_pool)]
