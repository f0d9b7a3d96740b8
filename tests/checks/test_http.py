"""The http check against a real HTTP(S) server (stdlib, in a thread) with a test CA."""

from __future__ import annotations

import socket
import time
from http.server import ThreadingHTTPServer

import pytest

from checks import http
from checks.base import Deadline, Status
from tests.checks.http_routes import BEARER, RoutesHandler, https_server, serve_routes
from tests.support.services import free_port
from tests.support.tls import TestPki, days_from_now

PHASES = ("resolve", "connect", "tls", "processing", "transfer")


async def test_pass_with_phases(http_url: str) -> None:
    result = await http.run(f"{http_url}/ok", http.Options(), Deadline(3))
    assert result.status is Status.PASS and result.output.startswith("HTTP 200 in")
    assert result.measurements["status_code"] == 200 and result.measurements["body_bytes"] == 18
    for phase in PHASES:
        assert result.measurements[f"phase_{phase}_s"] >= 0
    assert result.measurements["phase_connect_s"] > 0 and result.measurements["phase_processing_s"] > 0
    assert result.measurements["phase_tls_s"] == 0 and result.tls_not_after is None
    assert result.observed_value >= result.measurements["phase_processing_s"]


async def test_resolve_phase_and_host_header_with_a_name(http_url: str) -> None:
    port = http_url.rsplit(":", 1)[1]
    result = await http.run(
        f"http://localhost:{port}/host", http.Options(body_regex=f"^localhost:{port}$"), Deadline(3)
    )
    assert result.status is Status.PASS, result.output
    assert result.measurements["phase_resolve_s"] > 0


async def test_unexpected_status_fails(http_url: str) -> None:
    result = await http.run(f"{http_url}/status/503", http.Options(), Deadline(3))
    assert result.status is Status.FAIL and result.output == "HTTP 503, expected 2xx"
    accepted = await http.run(f"{http_url}/status/404", http.Options(expected_status=[404, 410]), Deadline(3))
    assert accepted.status is Status.PASS


async def test_body_regex_and_json_fields(http_url: str) -> None:
    ok = http.Options(body_regex=r"island \w+", json_fields={})
    assert (await http.run(f"{http_url}/ok", ok, Deadline(3))).status is Status.PASS
    miss = await http.run(f"{http_url}/ok", http.Options(body_regex="^nope"), Deadline(3))
    assert miss.status is Status.FAIL and "does not match" in miss.output
    fields = http.Options(json_fields={"status": "ok", "db.up": True, "items.0.name": "nassau"})
    assert (await http.run(f"{http_url}/json", fields, Deadline(3))).status is Status.PASS
    wrong = await http.run(f"{http_url}/json", http.Options(json_fields={"db.pool": 5}), Deadline(3))
    assert wrong.status is Status.FAIL and wrong.output == "JSON field db.pool is 3, expected 5"
    missing = await http.run(f"{http_url}/json", http.Options(json_fields={"db.nope": 1}), Deadline(3))
    assert missing.status is Status.FAIL and "missing" in missing.output
    not_json = await http.run(f"{http_url}/ok", http.Options(json_fields={"a": 1}), Deadline(3))
    assert not_json.status is Status.FAIL and not_json.output == "body is not JSON"


async def test_redirects_followed_and_limited(http_url: str) -> None:
    result = await http.run(f"{http_url}/redirect/3", http.Options(), Deadline(3))
    assert result.status is Status.PASS and result.measurements["redirects"] == 3
    too_many = await http.run(f"{http_url}/redirect/3", http.Options(max_redirects=2), Deadline(3))
    assert too_many.status is Status.FAIL and "more than 2 redirects" in too_many.output
    unfollowed = await http.run(
        f"{http_url}/redirect/1", http.Options(follow_redirects=False, expected_status=[302]), Deadline(3)
    )
    assert unfollowed.status is Status.PASS


async def test_post_body_and_bearer_token(http_url: str) -> None:
    posted = await http.run(
        f"{http_url}/echo", http.Options(method="POST", body="ping", body_regex="^got ping$"), Deadline(3)
    )
    assert posted.status is Status.PASS, posted.output
    denied = await http.run(f"{http_url}/auth", http.Options(), Deadline(3))
    assert denied.status is Status.FAIL and "401" in denied.output
    allowed = await http.run(f"{http_url}/auth", http.Options(bearer_token=BEARER), Deadline(3))
    assert allowed.status is Status.PASS


async def test_latency_warn(http_url: str) -> None:
    result = await http.run(f"{http_url}/slow?s=0.2", http.Options(latency_warn_s=0.1), Deadline(3))
    assert result.status is Status.WARN and result.output.startswith("slow:")


async def test_https_with_ca_file_reports_expiry_and_tls_phase(https_port: int, pki: TestPki) -> None:
    result = await http.run(
        f"https://localhost:{https_port}/ok", http.Options(ca_file=pki.ca_file), Deadline(3)
    )
    assert result.status is Status.PASS, result.output
    assert result.tls_not_after is not None and result.measurements["phase_tls_s"] > 0
    assert (
        await http.run(
            f"https://127.0.0.1:{https_port}/ok",
            http.Options(ca_file=pki.ca_file, cert_expiry_warn_days=14),
            Deadline(3),
        )
    ).status is Status.PASS


async def test_https_certificate_expiring_soon_warns(pki: TestPki) -> None:
    with https_server(pki.server_context(not_after=days_from_now(5))) as port:
        options = http.Options(ca_file=pki.ca_file, cert_expiry_warn_days=14)
        result = await http.run(f"https://localhost:{port}/ok", options, Deadline(3))
    assert result.status is Status.WARN and result.output.startswith("certificate expires in")
    assert result.tls_not_after is not None and 4.9 < (result.tls_not_after - time.time()) / 86400 <= 5


async def test_https_untrusted_fails_unless_insecure(https_port: int) -> None:
    result = await http.run(f"https://localhost:{https_port}/ok", http.Options(), Deadline(3))
    assert result.status is Status.FAIL and "certificate verify failed" in result.output
    insecure = await http.run(f"https://localhost:{https_port}/ok", http.Options(insecure=True), Deadline(3))
    assert insecure.status is Status.PASS and insecure.tls_not_after is not None


async def test_refused_and_unresolvable_fail_with_the_step() -> None:
    refused = await http.run(f"http://user:Pa55word9@127.0.0.1:{free_port()}/", http.Options(), Deadline(2))
    assert refused.status is Status.FAIL and refused.output == "connect: connection refused"
    nowhere = await http.run("http://island-rides.invalid/", http.Options(), Deadline(2))
    # NXDOMAIN at once here; a machine without any resolver would time out instead: either names the step
    assert nowhere.status is Status.FAIL
    assert nowhere.output.startswith(("resolve: DNS lookup failed", "timed out during resolve"))


async def test_bad_targets_fail_clearly() -> None:
    for target in ("ftp://example.com/", "not a url", ""):
        result = await http.run(target, http.Options(), Deadline(1))
        assert result.status is Status.FAIL and "http://" in result.output


async def test_303_turns_into_get_and_tokens_stay_with_their_origin(http_url: str) -> None:
    see_other = http.Options(method="POST", body="form", body_regex="^hello island rides$")
    result = await http.run(f"{http_url}/redirect-to?code=303&url=/ok", see_other, Deadline(3))
    assert result.status is Status.PASS, result.output
    same_origin = await http.run(
        f"{http_url}/redirect-to?url=/auth", http.Options(bearer_token=BEARER), Deadline(3)
    )
    assert same_origin.status is Status.PASS, same_origin.output
    other_origin = http_url.replace("127.0.0.1", "localhost") + "/auth"
    crossed = await http.run(
        f"{http_url}/redirect-to?url={other_origin}", http.Options(bearer_token=BEARER), Deadline(3)
    )
    assert crossed.status is Status.FAIL and crossed.output == "HTTP 401, expected 2xx"
    assert crossed.measurements["redirects"] == 1


async def test_ipv6_literal_target() -> None:
    class Server6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    with serve_routes(Server6(("::1", 0), RoutesHandler)) as address:
        port = address.rsplit(":", 1)[1]
        result = await http.run(
            f"http://[::1]:{port}/host", http.Options(body_regex=rf"^\[::1\]:{port}$"), Deadline(3)
        )
    assert result.status is Status.PASS, result.output
    assert result.measurements["phase_resolve_s"] == 0  # a literal needs no lookup


async def test_next_address_tried_when_the_first_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    # A name resolving to two addresses, the server listening on the second only (like "localhost" -> ::1
    # first while the API binds 127.0.0.1). The resolver answer is substituted; the servers are real.
    with serve_routes(ThreadingHTTPServer(("127.0.0.2", 0), RoutesHandler)) as address:
        port = int(address.rsplit(":", 1)[1])

        async def two_addresses(host: str, port: int, recorder: object, deadline: Deadline) -> list[str]:
            return ["127.0.0.1", "127.0.0.2"]

        monkeypatch.setattr(http, "resolve", two_addresses)
        result = await http.run(f"http://dual.island.test:{port}/host", http.Options(), Deadline(3))
    assert result.status is Status.PASS, result.output
    monkeypatch.undo()
    refused = await http.run(f"http://127.0.0.1:{port}/ok", http.Options(), Deadline(3))
    assert refused.status is Status.FAIL and refused.output == "connect: connection refused"
