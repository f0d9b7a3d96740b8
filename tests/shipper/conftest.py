"""Fixtures of the shipper tests: a fresh osmem-server per test (exact counts need an empty server)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.es_fault_proxy import EsFaultProxy
from tests.support.services import ManagedProcess, free_port, osmem_server


@pytest.fixture
def osmem() -> Iterator[ManagedProcess]:
    with osmem_server() as server:
        yield server


@pytest.fixture
def proxy(osmem: ManagedProcess) -> Iterator[EsFaultProxy]:
    p = EsFaultProxy(osmem.url, free_port())
    p.up()
    try:
        yield p
    finally:
        p.down()
