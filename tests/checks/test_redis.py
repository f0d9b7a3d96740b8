"""The redis check against a throwaway redis-server (maxmemory 4mb)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks import redis
from checks.base import Deadline, Status
from tests.support.services import ManagedProcess, free_port
from tests.support.tls import TestPki

PASSWORD = "R3dis-Pa55-for-tests"


async def test_pass_reports_ping_memory_and_role(redis_url: str) -> None:
    result = await redis.run(redis_url, redis.Options(), Deadline(2))
    assert result.status is Status.PASS, result.output
    assert result.observed_unit == "s" and 0 < result.observed_value < 2
    assert result.measurements["maxmemory_bytes"] == 4 * 1024 * 1024
    assert 0 < result.measurements["memory_ratio"] < 0.9
    assert result.measurements["rejected_connections"] == 0
    assert "role master" in result.output


async def test_memory_ratio_warns(redis_url: str) -> None:
    result = await redis.run(redis_url, redis.Options(memory_warn_ratio=0.01), Deadline(2))
    assert result.status is Status.WARN and "of maxmemory" in result.output


async def test_unexpected_role_fails(redis_url: str) -> None:
    assert (
        await redis.run(redis_url, redis.Options(expected_role="master"), Deadline(2))
    ).status is Status.PASS
    result = await redis.run(redis_url, redis.Options(expected_role="slave"), Deadline(2))
    assert result.status is Status.FAIL and "role is master, expected slave" in result.output


async def test_refused_fails_without_password() -> None:
    result = await redis.run(f"redis://:Sup3rS3cret@127.0.0.1:{free_port()}/0", redis.Options(), Deadline(2))
    assert result.status is Status.FAIL and result.output.startswith("connect:")
    assert "Sup3rS3cret" not in result.output


async def test_not_a_redis_url_fails_clearly() -> None:
    result = await redis.run("127.0.0.1:6379", redis.Options(), Deadline(2))
    assert result.status is Status.FAIL and "redis://" in result.output


@dataclass
class Protected:
    port: int
    socket: Path


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Protected]:
    """A throwaway redis-server with requirepass, on a TCP port and a unix socket."""
    port, socket = free_port(), tmp_path_factory.mktemp("redis") / "redis.sock"
    argv = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        PASSWORD,
        "--unixsocket",
        str(socket),
    ]
    server = ManagedProcess(argv=argv, port=port)
    server.start()
    try:
        yield Protected(port, socket)
    finally:
        server.stop()


async def test_auth_and_database_selection(protected: Protected) -> None:
    protected_port = protected.port
    good = await redis.run(f"redis://:{PASSWORD}@127.0.0.1:{protected_port}/3", redis.Options(), Deadline(2))
    assert good.status is Status.PASS, good.output
    wrong = await redis.run(
        f"redis://:not-{PASSWORD}@127.0.0.1:{protected_port}/0", redis.Options(), Deadline(2)
    )
    assert wrong.status is Status.FAIL and wrong.output.startswith("connect: WRONGPASS")
    assert PASSWORD not in wrong.output
    missing = await redis.run(f"redis://127.0.0.1:{protected_port}/0", redis.Options(), Deadline(2))
    assert missing.status is Status.FAIL and "NOAUTH" in missing.output
    no_db = await redis.run(
        f"redis://:{PASSWORD}@127.0.0.1:{protected_port}/99", redis.Options(), Deadline(2)
    )
    assert no_db.status is Status.FAIL and "DB index is out of range" in no_db.output


async def test_unix_socket_with_password_in_the_query(protected: Protected) -> None:
    target = f"unix://{protected.socket}?db=2&password={PASSWORD}"
    result = await redis.run(target, redis.Options(), Deadline(2))
    assert result.status is Status.PASS, result.output
    missing = await redis.run(f"unix://{protected.socket.parent}/nope.sock", redis.Options(), Deadline(2))
    assert missing.status is Status.FAIL and missing.output == "connect: no such file or directory"


async def test_rediss_verifies_the_certificate_and_reports_its_expiry(pki: TestPki, tmp_path: Path) -> None:
    leaf = pki.issue()
    cert, key = tmp_path / "redis.crt", tmp_path / "redis.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    port = free_port()
    argv = [
        "redis-server",
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--tls-cert-file",
        str(cert),
        "--tls-key-file",
        str(key),
        "--tls-ca-cert-file",
        str(pki.ca_file),
        "--tls-auth-clients",
        "no",
    ]
    server = ManagedProcess(argv=argv, port=port)
    server.start()
    try:
        verified = await redis.run(
            f"rediss://localhost:{port}/0", redis.Options(ca_file=pki.ca_file), Deadline(2)
        )
        untrusted = await redis.run(f"rediss://localhost:{port}/0", redis.Options(), Deadline(2))
        plain = await redis.run(f"redis://localhost:{port}/0", redis.Options(), Deadline(0.5))
    finally:
        server.stop()
    assert verified.status is Status.PASS, verified.output
    assert verified.tls_not_after is not None
    assert untrusted.status is Status.FAIL and "certificate verify failed" in untrusted.output
    assert plain.status is Status.FAIL  # plain RESP to a TLS port gets no answer it understands
