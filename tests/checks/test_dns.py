"""The dns check against a tiny authoritative DNS server (tests.support.dns_server) in the test's loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from checks import dns as dns_check
from checks.base import Deadline, Status
from tests.support.dns_server import SILENT, tiny_dns_server


@pytest.fixture
async def dns_port() -> AsyncIterator[int]:
    async with tiny_dns_server() as port:
        yield port


def options(port: int, **kwargs: object) -> dns_check.Options:
    return dns_check.Options(nameserver="127.0.0.1", port=port, **kwargs)


async def test_answers_expected(dns_port: int) -> None:
    result = await dns_check.run("app.island.test", options(dns_port, expected=["10.0.0.2"]), Deadline(2))
    assert result.status is Status.PASS and "10.0.0.1, 10.0.0.2" in result.output
    assert result.measurements["answers"] == 2 and result.observed_unit == "s"
    mx = await dns_check.run(
        "mail.island.test", options(dns_port, record_type="mx", expected=["10 MX.island.test"]), Deadline(2)
    )
    assert mx.status is Status.PASS, mx.output
    txt = await dns_check.run(
        "txt.island.test", options(dns_port, record_type="TXT", expected=['"v=spf1 -all"']), Deadline(2)
    )
    assert txt.status is Status.PASS, txt.output


async def test_missing_and_unexpected_answers_fail(dns_port: int) -> None:
    missing = await dns_check.run("app.island.test", options(dns_port, expected=["10.0.0.9"]), Deadline(2))
    assert missing.status is Status.FAIL and missing.output == "missing 10.0.0.9; got 10.0.0.1, 10.0.0.2"
    exact = await dns_check.run(
        "app.island.test", options(dns_port, expected=["10.0.0.1"], exact=True), Deadline(2)
    )
    assert exact.status is Status.FAIL and exact.output.startswith("unexpected 10.0.0.2")


async def test_nxdomain_and_no_answer_fail(dns_port: int) -> None:
    nx = await dns_check.run("nope.island.test", options(dns_port), Deadline(2))
    assert nx.status is Status.FAIL and nx.output == "nope.island.test does not exist (NXDOMAIN)"
    no_data = await dns_check.run("app.island.test", options(dns_port, record_type="AAAA"), Deadline(2))
    assert no_data.status is Status.FAIL and no_data.output == "app.island.test has no AAAA record"


async def test_unanswered_query_times_out(dns_port: int) -> None:
    result = await dns_check.run(SILENT, options(dns_port), Deadline(0.4))
    assert result.status is Status.FAIL and result.output == "timed out during query after 0.4s"


def test_unknown_record_type_and_named_nameserver_are_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown DNS record type 'BOGUS'"):
        dns_check.Options(record_type="BOGUS")
    with pytest.raises(ValueError, match="'ns1.example' is not an IP address"):
        dns_check.Options(nameserver="ns1.example")
