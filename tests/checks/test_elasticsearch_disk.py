"""The elasticsearch check (osmem-server for green, a FAKE cluster-health route for yellow/red) and disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from checks import disk, elasticsearch
from checks.base import Deadline, Status
from tests.support.services import free_port, osmem_server
from tests.support.tls import TestPki


@pytest.fixture(scope="module")
def osmem_url() -> Iterator[str]:
    with osmem_server() as server:
        yield server.url


async def test_osmem_green_passes(osmem_url: str) -> None:
    result = await elasticsearch.run(osmem_url, elasticsearch.Options(), Deadline(3))
    assert result.status is Status.PASS and result.observed_value == "green"
    assert result.measurements["number_of_nodes"] == 1 and "is green" in result.output


async def test_fake_yellow_warns_and_red_fails(http_url: str) -> None:
    # http_url serves /<colour>/_cluster/health: a fake, because no single-node server turns red on demand
    yellow = await elasticsearch.run(f"{http_url}/yellow", elasticsearch.Options(), Deadline(3))
    assert yellow.status is Status.WARN and yellow.measurements["unassigned_shards"] == 4
    red = await elasticsearch.run(f"{http_url}/red/", elasticsearch.Options(), Deadline(3))
    assert red.status is Status.FAIL and "cluster fake is red" in red.output


async def test_not_a_cluster_fails_clearly(http_url: str) -> None:
    result = await elasticsearch.run(f"{http_url}/nowhere", elasticsearch.Options(), Deadline(3))
    assert result.status is Status.FAIL and "answered HTTP 404" in result.output


async def test_credentials_never_in_output() -> None:
    options = elasticsearch.Options(username="elastic", password="El4stic-Secret")
    result = await elasticsearch.run(f"http://127.0.0.1:{free_port()}", options, Deadline(2))
    assert result.status is Status.FAIL and "connection refused" in result.output
    keyed = await elasticsearch.run(
        f"https://u:UrlPassw0rd@127.0.0.1:{free_port()}",
        elasticsearch.Options(api_key="QmFzZTY0S2V5SGVyZQ=="),
        Deadline(2),
    )
    assert keyed.status is Status.FAIL and "UrlPassw0rd" not in keyed.output


async def test_disk_pass_warn_fail(tmp_path: Path) -> None:
    ok = await disk.run(str(tmp_path), disk.Options(warn_free_ratio=0, fail_free_ratio=0), Deadline(2))
    assert ok.status is Status.PASS and ok.observed_unit == "bytes" and ok.observed_value > 0
    assert 0 < ok.measurements["free_ratio"] <= 1 and ok.measurements["total_bytes"] >= ok.observed_value
    warn = await disk.run(str(tmp_path), disk.Options(warn_free_ratio=1.0, fail_free_ratio=0), Deadline(2))
    assert warn.status is Status.WARN and "below 100.0% free" in warn.output
    huge = 1 << 60
    fail = await disk.run(str(tmp_path), disk.Options(fail_free_bytes=huge, fail_free_ratio=0), Deadline(2))
    assert fail.status is Status.FAIL and fail.output.endswith("; below 1048576.0 TiB free")


async def test_disk_missing_path_fails(tmp_path: Path) -> None:
    result = await disk.run(str(tmp_path / "nope"), disk.Options(), Deadline(2))
    assert result.status is Status.FAIL and result.output.endswith("nope does not exist")


async def test_https_cluster_with_ca_file_reports_expiry(https_port: int, pki: TestPki) -> None:
    # the routes server's FAKE cluster-health route, over HTTPS with a test CA
    result = await elasticsearch.run(
        f"https://localhost:{https_port}/green",
        elasticsearch.Options(ca_file=pki.ca_file, username="elastic", password="Es-Pa55word"),
        Deadline(3),
    )
    assert result.status is Status.PASS and result.tls_not_after is not None
