"""HTTP(S): one request (following redirects), checked for status, body and latency, timed per phase.

Observed value: the whole request (all hops) in seconds. Measurements: ``phase_<name>_s`` for resolve,
connect, tls, processing and transfer (summed over redirects, like blackbox_exporter), ``status_code``,
``redirects`` and ``body_bytes``; ``tls_not_after`` is the certificate expiry of the last HTTPS hop.
A failed run keeps the phases measured so far (a timeout shows which phase took the time).
The connection is never reused between runs and proxies from the environment are ignored: a probe
measures the path from this host to the target, fresh, every time.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Annotated, Any

from httpcore import AsyncConnectionPool, ConnectError
from pydantic import Field, SecretStr, field_validator

from checks.base import CheckResult, Deadline, RegexPattern, Status
from checks.certificates import TlsClientOptions, client_context
from checks.guard import guarded
from checks.http_phases import PhaseRecorder, measurement_key, resolve
from checks.http_request import HTTP_ALPN, HTTP_ERRORS, HttpResponse, HttpUrl, new_pool, send

_REDIRECT_CODES = {301, 302, 303, 307, 308}


class HttpOptions(TlsClientOptions):
    """Options of the ``http`` check; the target is an http:// or https:// URL."""

    method: str = Field(default="GET", pattern=r"^[A-Z]+$", description="request method")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    body: str | None = Field(default=None, description="request body (sent as is)")
    bearer_token: SecretStr | None = Field(default=None, description="sent as Authorization: Bearer ...")
    expected_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=list, description="accepted status codes; empty: 2xx"
    )
    body_regex: RegexPattern | None = Field(default=None, description="the body must match this regular expression")
    json_fields: dict[str, Any] = Field(
        default_factory=dict,
        description='dotted path -> expected value, e.g. {"status": "ok", "db.up": true}',
    )
    latency_warn_s: float | None = Field(default=None, gt=0, description="warn when the request is slower")
    cert_expiry_warn_days: float | None = Field(
        default=None, gt=0, description="warn when the HTTPS certificate expires within this many days"
    )
    follow_redirects: bool = Field(default=True, description="follow 301/302/303/307/308 (each hop is timed)")
    max_redirects: int = Field(default=5, ge=0, le=20, description="fail after this many redirects")
    max_body_bytes: int = Field(default=1 << 20, gt=0, description="read at most this much of the body")

    @field_validator("headers")
    @classmethod
    def _no_control_characters(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise ValueError(f"header name {name!r} is not a valid HTTP token")
            if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", text):
                raise ValueError(f"header {name} contains control characters")
        return value


Options = HttpOptions  # the name every check module exposes


@dataclass
class _Chain:
    """The redirect chain of one run: its last response, how many hops led there, the TLS expiry."""

    last: HttpResponse
    redirects: int = 0
    not_after: float | None = None
    too_long: bool = False


@guarded(*HTTP_ERRORS)
async def run(target: str, options: HttpOptions, deadline: Deadline) -> CheckResult:
    """Request ``target`` and judge the final response; every phase is bounded by ``deadline``."""
    url = HttpUrl.parse(target)
    recorder = PhaseRecorder(deadline)
    started = time.monotonic()
    async with new_pool(client_context(options, alpn=HTTP_ALPN)) as pool:
        chain = await _follow(pool, url, options, recorder, deadline)
    elapsed = time.monotonic() - started
    status, output = _judge(chain, options, elapsed)
    measurements = {measurement_key(phase): seconds for phase, seconds in recorder.seconds.items()}
    measurements.update(
        status_code=float(chain.last.status),
        redirects=float(chain.redirects),
        body_bytes=float(len(chain.last.body)),
    )
    return CheckResult(
        status,
        output,
        observed_value=elapsed,
        observed_unit="s",
        measurements=measurements,
        tls_not_after=chain.not_after,
    )


async def _follow(
    pool: AsyncConnectionPool, url: HttpUrl, options: HttpOptions, recorder: PhaseRecorder, deadline: Deadline
) -> _Chain:
    """Request ``url`` and, if allowed, the redirects it leads to, each hop resolved and timed."""
    headers = dict(options.headers)
    if options.bearer_token is not None:
        headers["Authorization"] = f"Bearer {options.bearer_token.get_secret_value()}"
    method, body = options.method, options.body.encode() if options.body is not None else None
    chain: _Chain | None = None
    for redirects in range(options.max_redirects + 1):
        addresses = await resolve(url.host, url.port, recorder, deadline)
        try:
            response = await _send_to_first_reachable(
                pool, method, url, addresses, options, headers, body, recorder, deadline
            )
        finally:
            recorder.close_open_phases()
        not_after = response.not_after if url.scheme == "https" else (chain.not_after if chain else None)
        chain = _Chain(response, redirects, not_after)
        location = response.headers.get("location")
        if not (options.follow_redirects and response.status in _REDIRECT_CODES and location):
            return chain
        next_url = url.join(location)
        if next_url.origin != url.origin:
            headers.pop("Authorization", None)  # like browsers and curl: credentials stay with their origin
        if response.status == 303 and method != "HEAD":
            method, body = "GET", None  # "see other": fetch the other resource, as every client does
        url = next_url
    assert chain is not None  # the loop runs at least once
    chain.too_long = True
    return chain


async def _send_to_first_reachable(
    pool: AsyncConnectionPool,
    method: str,
    url: HttpUrl,
    addresses: list[str],
    options: HttpOptions,
    headers: dict[str, str],
    body: bytes | None,
    recorder: PhaseRecorder,
    deadline: Deadline,
) -> HttpResponse:
    """Send to each address in turn until one accepts the connection ("localhost" may be ::1 first
    while the server listens on 127.0.0.1 only, as browsers and curl cope with)."""
    for index, address in enumerate(addresses):
        try:
            return await send(
                pool,
                method,
                url,
                deadline,
                headers=headers,
                body=body,
                address=address,
                trace=recorder.trace,
                max_body_bytes=options.max_body_bytes,
            )
        except ConnectError:
            if index == len(addresses) - 1:
                raise
    raise AssertionError("resolve() returns at least one address")


def _judge(chain: _Chain, options: HttpOptions, elapsed: float) -> tuple[Status, str]:
    """The status and output for the last response of ``chain``."""
    status_code = chain.last.status
    if chain.too_long:
        return Status.FAIL, f"more than {options.max_redirects} redirects"
    expected = options.expected_status
    if (status_code not in expected) if expected else not 200 <= status_code < 300:
        return (
            Status.FAIL,
            f"HTTP {status_code}, expected {', '.join(map(str, expected)) if expected else '2xx'}",
        )
    problem = _body_problem(chain.last, options)
    if problem:
        return Status.FAIL, problem
    warnings = []
    if options.latency_warn_s is not None and elapsed > options.latency_warn_s:
        warnings.append(f"slow: {elapsed:.3f}s > {options.latency_warn_s:g}s")
    if options.cert_expiry_warn_days is not None and chain.not_after is not None:
        days = (chain.not_after - time.time()) / 86400
        if days < options.cert_expiry_warn_days:
            warnings.append(f"certificate expires in {days:.1f} days")
    summary = f"HTTP {status_code} in {elapsed * 1000:.1f} ms"
    return (Status.WARN if warnings else Status.PASS), "; ".join([*warnings, summary])


def _body_problem(hop: HttpResponse, options: HttpOptions) -> str | None:
    """Why the body is not what the options expect, or None."""
    if options.body_regex is None and not options.json_fields:
        return None
    text = hop.text()
    if options.body_regex is not None and not re.search(options.body_regex, text):
        return f"body does not match /{options.body_regex}/"
    if options.json_fields:
        try:
            document = json.loads(text)
        except ValueError:
            return "body is not JSON"
        for path, wanted in options.json_fields.items():
            found, value = _dig(document, path)
            if not found:
                return f"JSON field {path} is missing"
            if value != wanted:
                return f"JSON field {path} is {json.dumps(value)[:80]}, expected {json.dumps(wanted)[:80]}"
    return None


def _dig(document: Any, path: str) -> tuple[bool, Any]:
    """Follow ``a.b.0.c`` through dicts and lists; (False, None) when a step is missing."""
    value = document
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
            value = value[int(key)]
        else:
            return False, None
    return True, value
