"""One HTTP request for a check, on httpcore: URL parsing, auth headers, a size-capped body, TLS expiry.

Why httpcore and not httpx: ``import httpx`` adds ~10 MB of RSS on top of httpcore (measured with
/proc/self/status; its CLI module pulls in rich, pygments and click), and a check needs none of what
httpx adds (cookies, redirects policy, content decoding): it follows redirects itself to time each hop.
"""

from __future__ import annotations

import base64
import re
import ssl
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpcore

from checks.base import Deadline
from checks.certificates import peer_not_after
from checks.guard import TargetError

# Everything httpcore raises for a failure of the far side (it has no common base class).
HTTP_ERRORS: tuple[type[BaseException], ...] = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.TimeoutException,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)
HTTP_ALPN = ("http/1.1",)  # what httpcore offers without HTTP/2: give it a context made for that
_CHARSET = re.compile(r";\s*charset=\"?([\w.:-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class HttpUrl:
    """An http(s) URL split the way a request needs it."""

    scheme: str
    host: str
    port: int
    target: str  # path and query
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> HttpUrl:
        """Parse an absolute http:// or https:// URL, or raise TargetError saying what is wrong."""
        try:
            parts = urlsplit(text.strip())
            port = parts.port
        except ValueError as exc:
            raise TargetError(f"target is not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetError(f"target must be an http:// or https:// URL with a host, got {text!r}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:  # httpcore takes ASCII host names only: an internationalised name goes out in its IDNA form
            host = (
                parts.hostname if parts.hostname.isascii() else parts.hostname.encode("idna").decode("ascii")
            )
        except UnicodeError as exc:
            raise TargetError(f"target host {parts.hostname!r} is not a valid name ({exc})") from None
        return cls(
            scheme=parts.scheme,
            host=host,
            port=port or (443 if parts.scheme == "https" else 80),
            target=target,
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``, the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: ``host[:port]``."""
        return self.origin.split("://", 1)[1]

    def join(self, location: str) -> HttpUrl:
        """The URL a ``Location`` header points to; credentials stay only on the same origin."""
        joined = HttpUrl.parse(urljoin(self.origin + self.target, location))
        if joined.origin == self.origin and joined.username is None:
            joined = replace(joined, username=self.username, password=self.password)
        return joined

    def with_path(self, path: str) -> HttpUrl:
        """This URL with ``path`` appended to its path (query dropped)."""
        return replace(self, target=self.target.split("?", 1)[0].rstrip("/") + path)


@dataclass(frozen=True)
class HttpResponse:
    """What came back: status, headers (lower-case names), the body up to the cap, TLS expiry."""

    status: int
    headers: dict[str, str]
    body: bytes
    not_after: float | None

    def text(self) -> str:
        """The body decoded with the charset of its Content-Type (UTF-8 when none or unknown)."""
        match = _CHARSET.search(self.headers.get("content-type", ""))
        try:
            return self.body.decode(match.group(1) if match else "utf-8", errors="replace")
        except LookupError:  # an unknown charset name
            return self.body.decode("utf-8", errors="replace")


def basic_auth(username: str, password: str) -> str:
    """The value of an ``Authorization: Basic`` header."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def new_pool(context: ssl.SSLContext) -> httpcore.AsyncConnectionPool:
    """A connection pool for one check run: no retries (a probe reports the first failure), no proxy."""
    return httpcore.AsyncConnectionPool(ssl_context=context, retries=0, max_connections=1)


async def send(
    pool: httpcore.AsyncConnectionPool,
    method: str,
    url: HttpUrl,
    deadline: Deadline,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    address: str | None = None,
    trace: Any = None,
    max_body_bytes: int = 1 << 20,
    step: str = "connect",
) -> HttpResponse:
    """Send one request within ``deadline``; connect to ``address`` (a resolved IP) if given.

    ``step`` names the request in a timeout unless ``trace`` refines the deadline's current step.
    The ``Host`` header and TLS server name stay those of ``url``, so a request to a pre-resolved
    address is the same request. Credentials in the URL become basic auth unless ``headers`` has some.
    """
    all_headers = {
        "Host": url.host_header,
        "User-Agent": "island-health-check",
        "Accept": "*/*",
        **(headers or {}),
    }
    if url.username is not None and not any(name.lower() == "authorization" for name in all_headers):
        all_headers["Authorization"] = basic_auth(url.username, url.password or "")
    # httpcore's own timeouts sit behind the deadline, which names the step that hung
    timeout = deadline.remaining() + 1.0
    extensions: dict[str, Any] = {
        "sni_hostname": url.host,
        "timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout),
    }
    if trace is not None:
        extensions["trace"] = trace
    request_url = httpcore.URL(scheme=url.scheme, host=address or url.host, port=url.port, target=url.target)
    async with (
        deadline.step(step),
        pool.stream(
            method, request_url, headers=list(all_headers.items()), content=body, extensions=extensions
        ) as response,
    ):
        chunks, size = [], 0
        async for chunk in response.aiter_stream():
            chunks.append(chunk)
            size += len(chunk)
            if size >= max_body_bytes:
                break
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        return HttpResponse(
            status=response.status,
            headers={
                name.decode("latin-1").lower(): value.decode("latin-1") for name, value in response.headers
            },
            body=b"".join(chunks)[:max_body_bytes],
            not_after=peer_not_after(ssl_object),
        )
