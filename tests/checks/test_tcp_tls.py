"""The tcp and tls checks against asyncio servers in the test's loop, with certificates from a test CA."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from checks import tcp, tls
from checks.base import Deadline, Status
from checks.certificates import client_context
from checks.http_request import HTTP_ALPN
from tests.support.services import free_port
from tests.support.tls import TestPki, days_from_now


@contextlib.asynccontextmanager
async def greeter(context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> AsyncIterator[int]:
    """A server that says hello, then echoes one line in upper case; yields its port."""
    handlers: set[asyncio.Task] = set()

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        writer.write(b"220 island ready\r\n")
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.drain()
            line = await reader.readline()
            writer.write(line.upper())
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, host, 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


async def test_tcp_connect_send_expect() -> None:
    async with greeter() as port:
        plain = await tcp.run(f"127.0.0.1:{port}", tcp.Options(), Deadline(2))
        assert plain.status is Status.PASS and plain.output.startswith("connected in")
        banner = await tcp.run(f"127.0.0.1:{port}", tcp.Options(expect=r"^220 island"), Deadline(2))
        assert banner.status is Status.PASS and "reply matches" in banner.output
        echoed = await tcp.run(
            f"tcp://localhost:{port}", tcp.Options(send="ping\n", expect="PING"), Deadline(2)
        )
        assert echoed.status is Status.PASS
        wrong = await tcp.run(f"127.0.0.1:{port}", tcp.Options(expect="^SSH-"), Deadline(0.3))
        assert wrong.status is Status.FAIL
        assert wrong.output == "reply '220 island ready\\r\\n' does not match /^SSH-/ (waited 0.3s for more)"


async def test_tcp_with_tls(pki: TestPki) -> None:
    async with greeter(pki.server_context()) as port:
        result = await tcp.run(
            f"localhost:{port}", tcp.Options(tls=True, ca_file=pki.ca_file, expect="220"), Deadline(2)
        )
        assert result.status is Status.PASS and "with TLS" in result.output
        assert result.tls_not_after is not None
        untrusted = await tcp.run(f"localhost:{port}", tcp.Options(tls=True), Deadline(2))
        assert untrusted.status is Status.FAIL
        assert untrusted.output.startswith("tls handshake: TLS certificate verify failed")


async def test_tcp_refused_and_bad_target() -> None:
    refused = await tcp.run(f"127.0.0.1:{free_port()}", tcp.Options(), Deadline(2))
    assert refused.status is Status.FAIL and refused.output == "connect: connection refused"
    no_port = await tcp.run("127.0.0.1", tcp.Options(), Deadline(2))
    assert no_port.status is Status.FAIL and "has no port" in no_port.output


async def test_tls_days_left_thresholds(pki: TestPki) -> None:
    cases = [
        (90, Status.PASS, "expires in"),
        (20, Status.WARN, "warn below 30 days"),
        (3, Status.FAIL, "fail below 7 days"),
    ]
    for days, status, text in cases:
        async with greeter(pki.server_context(not_after=days_from_now(days))) as port:
            result = await tls.run(f"localhost:{port}", tls.Options(ca_file=pki.ca_file), Deadline(2))
        assert result.status is status and text in result.output, result.output
        assert result.observed_unit == "days" and days - 0.1 < result.observed_value <= days
        assert result.tls_not_after is not None


async def test_tls_expired_certificate(pki: TestPki) -> None:
    context = pki.server_context(not_before=days_from_now(-30), not_after=days_from_now(-2))
    async with greeter(context) as port:
        verified = await tls.run(f"localhost:{port}", tls.Options(ca_file=pki.ca_file), Deadline(2))
        assert verified.status is Status.FAIL and "certificate has expired" in verified.output
        insecure = await tls.run(f"localhost:{port}", tls.Options(insecure=True), Deadline(2))
        assert insecure.status is Status.FAIL and "expired 2.0 days ago" in insecure.output


async def test_tls_wrong_name_and_untrusted(pki: TestPki) -> None:
    async with greeter(pki.server_context("api.island.test")) as port:
        misnamed = await tls.run(f"localhost:{port}", tls.Options(ca_file=pki.ca_file), Deadline(2))
        assert misnamed.status is Status.FAIL and "Hostname mismatch" in misnamed.output
        by_sni = await tls.run(
            f"127.0.0.1:{port}", tls.Options(ca_file=pki.ca_file, server_name="api.island.test"), Deadline(2)
        )
        assert by_sni.status is Status.PASS, by_sni.output
        untrusted = await tls.run(
            f"localhost:{port}", tls.Options(server_name="api.island.test"), Deadline(2)
        )
        assert untrusted.status is Status.FAIL and "unable to get local issuer" in untrusted.output


async def test_tls_on_a_plain_port_fails() -> None:
    async with greeter() as port:
        result = await tls.run(f"127.0.0.1:{port}", tls.Options(), Deadline(2))
    assert result.status is Status.FAIL and result.output.startswith("tls handshake: TLS error")


def test_ssl_contexts_are_cached_per_ca_file_and_alpn(pki: TestPki, tmp_path: Path) -> None:
    options = tls.Options(ca_file=pki.ca_file)
    plain = client_context(options)
    assert client_context(tls.Options(ca_file=pki.ca_file)) is plain  # no CA store reload per run
    assert client_context(options, alpn=HTTP_ALPN) is not plain  # httpcore's ALPN stays out of tls/smtp
    rotated = tmp_path / "ca.pem"
    rotated.write_bytes(pki.ca_file.read_bytes())
    first = client_context(tls.Options(ca_file=rotated))
    os.utime(rotated, ns=(0, 10**18))
    assert client_context(tls.Options(ca_file=rotated)) is not first  # a rotated CA file is reloaded


async def test_ipv6_targets(pki: TestPki) -> None:
    async with greeter(host="::1") as port:
        result = await tcp.run(f"[::1]:{port}", tcp.Options(expect="^220"), Deadline(2))
        assert result.status is Status.PASS, result.output
    async with greeter(pki.server_context("::1"), host="::1") as port:
        result = await tls.run(f"[::1]:{port}", tls.Options(ca_file=pki.ca_file), Deadline(2))
        assert result.status is Status.PASS, result.output
