"""Real servers for the check tests: a test CA, HTTP(S) servers in threads, a throwaway Redis, a database."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.checks.http_routes import RoutesHandler, https_server, serve_routes
from tests.support.services import redis_server, temp_database
from tests.support.tls import TestPki, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def http_url() -> Iterator[str]:
    """Base URL of the plain-HTTP routes server."""
    with serve_routes(ThreadingHTTPServer(("127.0.0.1", 0), RoutesHandler)) as address:
        yield f"http://{address}"


@pytest.fixture(scope="session")
def https_port(pki: TestPki) -> Iterator[int]:
    """Port of the routes over HTTPS, with a certificate for localhost and 127.0.0.1 from ``pki``."""
    with https_server(pki.server_context()) as port:
        yield port


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server with a small maxmemory (so the memory ratio is measurable)."""
    with redis_server(maxmemory="4mb") as server:
        yield f"redis://127.0.0.1:{server.port}/0"


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A database of our own on the shared Postgres."""
    with temp_database(prefix="island_checks") as dsn:
        yield dsn


@pytest.fixture
def missing_path(tmp_path: Path) -> Path:
    return tmp_path / "does-not-exist"
