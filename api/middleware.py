"""Pure ASGI middleware at the edge of the API (no BaseHTTPMiddleware: its per-request cost is measured
in the telemetry benchmarks and it breaks streaming).

``EdgeMiddleware`` does, in one pass over each HTTP request:
- ``X-Request-ID`` in and out (a well-formed incoming id is kept, otherwise a new one is made) and put
  on ``scope["state"]["request_id"]`` for handlers and the access log;
- security headers on every response;
- a request body limit: 413 from the ``Content-Length`` header, or as soon as a streamed body passes it;
- a last-resort handler: an unexpected exception is logged with its stack trace and answered with the
  500 envelope, never with the trace.
"""
from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from exporters.logs.access import checked_id

log = logging.getLogger("api.errors")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# API responses are JSON: nothing may be loaded or framed. The interactive docs need their scripts.
API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            b"frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _REQUEST_ID_RE.match(candidate):
                return candidate
            break
    return new_request_id()


def new_request_id() -> str:
    """A fresh request id: a UUID4's 32 hex digits, drawn again in the rare case that 13 decimal digits
    come in a row. Log redaction masks such a run when it passes the Luhn check, as it would a card
    number: before this, about 1 generated id in 450 (0.22 % of 200,000 drawn) was masked in every log
    line of its request, and the X-Request-Id a client reported could not be found in the logs. About
    2 % of draws are redrawn."""
    while True:
        request_id = checked_id(uuid.uuid4().hex)  # checked once here, not again by every access line
        if request_id is not None:
            return request_id


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class EdgeMiddleware:
    """Request id, security headers, body limit and the last-resort 500 (see module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 1024 * 1024) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        extra_headers = [*SECURITY_HEADERS, (b"x-request-id", request_id.encode())]
        path = scope.get("path", "")
        extra_headers.append((b"content-security-policy", DOCS_CSP if path.startswith(DOCS_PATHS) else API_CSP))
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), *extra_headers]
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._send_error(send_with_headers, 413, self._too_large_message(), request_id)
            return

        try:
            await self.app(scope, self._limited(receive), send_with_headers)
        except HTTPException as exc:  # the body limit tripped outside a route's own handling
            if started:
                raise
            await self._send_error(send_with_headers, exc.status_code, str(exc.detail), request_id)
        except Exception as exc:  # the last resort: log it, answer 500 without the trace
            log.exception("unhandled error in %s %s", scope.get("method"), path,
                          extra={"request_id": request_id, "error_type": type(exc).__name__})
            if not started:
                await self._send_error(send_with_headers, 500, "internal server error", request_id)

    def _too_large_message(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes"

    def _limited(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPException from body reading as is: it becomes the 413 envelope.
                    raise HTTPException(413, self._too_large_message())
            return message

        return limited_receive

    @staticmethod
    async def _send_error(send: Send, status: int, message: str, request_id: str,
                          extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
        body = error_body(status, message, request_id=request_id)
        headers: list[Any] = [(b"content-type", b"application/json"),
                              (b"content-length", str(len(body)).encode()), *(extra_headers or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
