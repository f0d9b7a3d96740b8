"""The smtp check against aiosmtpd: plain, with STARTTLS, with AUTH after STARTTLS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from checks import smtp
from checks.base import Deadline, Status
from tests.support.services import free_port, smtp_catcher
from tests.support.tls import TestPki

PASSWORD = "Mai1Pa55-secret"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535 itself


class _Sink:
    async def handle_DATA(self, server, session, envelope) -> str:
        return "250 OK"


@pytest.fixture
def auth_smtp_port(pki: TestPki) -> Iterator[int]:
    """aiosmtpd offering STARTTLS and AUTH (only over TLS), on a free port."""
    port = free_port()
    controller = Controller(
        _Sink(),
        hostname="127.0.0.1",
        port=port,
        tls_context=pki.server_context(),
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


async def test_plain_ehlo_noop() -> None:
    with smtp_catcher() as catcher:
        result = await smtp.run(catcher.url, smtp.Options(), Deadline(3))
    assert result.status is Status.PASS and result.output.startswith("EHLO and NOOP in")
    assert result.tls_not_after is None


async def test_starttls_required_but_not_offered() -> None:
    with smtp_catcher() as catcher:
        result = await smtp.run(f"127.0.0.1:{catcher.port}", smtp.Options(tls="starttls"), Deadline(3))
    assert result.status is Status.FAIL and "does not offer STARTTLS" in result.output


async def test_starttls_verified_and_untrusted(pki: TestPki) -> None:
    with smtp_catcher(tls_context=pki.server_context()) as catcher:
        result = await smtp.run(
            f"smtp://localhost:{catcher.port}", smtp.Options(tls="starttls", ca_file=pki.ca_file), Deadline(3)
        )
        assert result.status is Status.PASS and "with STARTTLS" in result.output, result.output
        assert result.tls_not_after is not None
        untrusted = await smtp.run(f"localhost:{catcher.port}", smtp.Options(tls="starttls"), Deadline(3))
    assert untrusted.status is Status.FAIL and untrusted.output.startswith(
        "STARTTLS: TLS certificate verify failed"
    )


async def test_auth_after_starttls_scrubs_the_password(auth_smtp_port: int, pki: TestPki) -> None:
    options = smtp.Options(tls="starttls", ca_file=pki.ca_file)
    good = await smtp.run(f"smtp://alerts:{PASSWORD}@localhost:{auth_smtp_port}", options, Deadline(3))
    assert good.status is Status.PASS, good.output
    bad = await smtp.run(f"smtp://alerts:Wrong-{PASSWORD}@localhost:{auth_smtp_port}", options, Deadline(3))
    assert bad.status is Status.FAIL and bad.output.startswith("AUTH:")
    assert PASSWORD not in bad.output


async def test_refused() -> None:
    result = await smtp.run(f"smtp://127.0.0.1:{free_port()}", smtp.Options(), Deadline(2))
    assert (
        result.status is Status.FAIL and result.output.startswith("connect:") and "refused" in result.output
    )


async def test_implicit_tls(pki: TestPki) -> None:
    port = free_port()
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port, ssl_context=pki.server_context())
    controller.start()
    try:
        options = smtp.Options(tls="implicit", ca_file=pki.ca_file)
        result = await smtp.run(f"smtp://localhost:{port}", options, Deadline(3))
        plain = await smtp.run(f"smtp://localhost:{port}", smtp.Options(), Deadline(0.5))
    finally:
        controller.stop()
    assert result.status is Status.PASS and "over TLS" in result.output, result.output
    assert result.tls_not_after is not None
    assert plain.status is Status.FAIL  # a plain client gets no banner it understands
