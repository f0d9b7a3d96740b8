"""Every network check against a TCP port that accepts and never answers: fail within timeout + 0.3 s.

This is the one place a timing bound is asserted, because the issue demands it: a hung dependency must
not hold a check (and so the agent's view of it) longer than its timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from checks import REGISTRY
from checks.base import Deadline, Status
from tests.support.tcp_blackhole import TcpBlackhole, tcp_blackhole

TIMEOUT = 0.5
BOUND = TIMEOUT + 0.3

# type -> (target template, options, the step the output must name)
CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "postgres": ("postgresql://postgres:S3cretPw@127.0.0.1:{port}/postgres", {}, "connect"),
    "redis": ("redis://:S3cretPw@127.0.0.1:{port}/0", {}, "connect"),  # AUTH is part of connecting
    "http": ("http://user:S3cretPw@127.0.0.1:{port}/health", {}, "processing"),
    "https": ("https://127.0.0.1:{port}/health", {}, "tls"),
    "tcp": ("127.0.0.1:{port}", {"expect": "^220"}, "read"),
    "tcp-tls": ("127.0.0.1:{port}", {"tls": True}, "tls handshake"),
    "tls": ("127.0.0.1:{port}", {}, "tls handshake"),
    "smtp": ("smtp://alerts:S3cretPw@127.0.0.1:{port}", {}, "connect"),
    "websocket": ("ws://127.0.0.1:{port}/v1/ws/ping", {"query_token": "S3cretPw"}, "handshake"),
    "elasticsearch": ("http://elastic:S3cretPw@127.0.0.1:{port}", {}, "GET /_cluster/health"),
}


@pytest.fixture(scope="module")
def hole() -> Iterator[TcpBlackhole]:
    with tcp_blackhole() as blackhole:
        yield blackhole


@pytest.mark.parametrize("case", sorted(CASES))
async def test_hung_target_fails_within_the_timeout(case: str, hole: TcpBlackhole) -> None:
    template, raw_options, step = CASES[case]
    check = REGISTRY[case.split("-")[0] if case != "https" else "http"]
    options = check.options_model.model_validate(raw_options)
    accepted_before = hole.accepted
    started = time.monotonic()
    result = await check.run(template.format(port=hole.port), options, Deadline(TIMEOUT))
    elapsed = time.monotonic() - started
    assert result.status is Status.FAIL
    assert result.output == f"timed out during {step} after {TIMEOUT:g}s"
    assert elapsed < BOUND, f"{case} took {elapsed:.3f}s"
    assert TIMEOUT * 0.9 <= result.duration_s < BOUND
    assert hole.accepted > accepted_before  # it really connected, then waited
    assert "S3cretPw" not in result.output
    if case == "tcp":  # connected, then hung reading: the connect time is kept
        assert result.measurements["connect_s"] > 0
    if case in ("http", "https"):  # the phases measured before the hang are kept, the hung one included
        assert result.measurements["phase_connect_s"] > 0
        hung = "phase_processing_s" if case == "http" else "phase_tls_s"
        assert result.measurements[hung] >= TIMEOUT * 0.8
