"""One error envelope for every 4xx/5xx the API sends, and the handlers that produce it.

Shape::

    {"error": {"code": "validation_error", "message": "...",
               "fields": [{"field": "body.start_date", "message": "..."}], "request_id": "..."}}

Route code raises ``APIError`` (or one of its helpers); FastAPI's validation errors and Starlette's
HTTP exceptions are translated here. Unexpected exceptions are turned into a 500 envelope by
``api.middleware.EdgeMiddleware``, which also logs them; no stack trace ever reaches a client.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg import DataError, OperationalError
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "validation_error", 423: "locked", 429: "rate_limited", 500: "internal_error",
    503: "service_unavailable",
}


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    """The body of every error response (for the OpenAPI schema)."""

    error: ErrorBody


class APIError(Exception):
    """An error answered with the envelope. ``fields`` are (field path, message) pairs."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 fields: Sequence[tuple[str, str]] = (), headers: Mapping[str, str] | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or ERROR_CODES.get(status, "error")
        self.message = message
        self.fields = list(fields)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def field_error(field: str, message: str, status: int = 422) -> APIError:
    """A 4xx naming one field, e.g. ``field_error("query.cursor", "invalid cursor", 400)``."""
    return APIError(status, f"{field}: {message}", fields=[(field, message)])


def not_found(what: str) -> APIError:
    return APIError(404, f"{what} not found")


def request_id_of(scope_or_request: Any) -> str | None:
    scope = getattr(scope_or_request, "scope", scope_or_request)
    return scope.get("state", {}).get("request_id")


def error_body(status: int, message: str, *, code: str | None = None,
               fields: Sequence[tuple[str, str]] = (), request_id: str | None = None,
               extra: Mapping[str, Any] | None = None) -> bytes:
    """The serialised envelope (also used by pure-ASGI middleware that has no Request)."""
    error: dict[str, Any] = {
        "code": code or ERROR_CODES.get(status, "error"),
        "message": message,
        "fields": [{"field": f, "message": m} for f, m in fields],
        "request_id": request_id,
    }
    error.update(extra or {})
    return orjson.dumps({"error": error})


def error_response(request: Request, status: int, message: str, *, code: str | None = None,
                   fields: Sequence[tuple[str, str]] = (), headers: Mapping[str, str] | None = None,
                   extra: Mapping[str, Any] | None = None) -> Response:
    body = error_body(status, message, code=code, fields=fields, request_id=request_id_of(request),
                      extra=extra)
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


def _field_path(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return error_response(request, exc.status, exc.message, code=exc.code, fields=exc.fields,
                          headers=exc.headers, extra=exc.extra)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(request, 400, "request body is not valid JSON", code="invalid_json",
                              fields=[("body", "invalid JSON")])
    fields = [(_field_path(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in errors]
    summary = "; ".join(f"{f}: {m}" for f, m in fields[:3])
    return error_response(request, 422, f"invalid request: {summary}", fields=fields)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else ERROR_CODES.get(exc.status_code, "error")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
    return error_response(request, exc.status_code, message, headers=exc.headers)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # The pool could not lend a connection in time or the server went away: the client may retry.
    return error_response(request, 503, "database unavailable, retry later", headers={"Retry-After": "5"})


async def _unstorable_input(request: Request, exc: Exception) -> Response:
    # Last line of defence (models deriving from api.validation.ApiModel refuse this earlier, naming the
    # field): text PostgreSQL cannot store (NUL, lone surrogates) or a value out of a column's range.
    return error_response(request, 422, "request contains a value that cannot be stored", code="unstorable_value",
                          fields=[("body", "contains a NUL character, an unpaired surrogate or an out-of-range value")])


def install_error_handlers(app: FastAPI) -> None:
    """Register the envelope handlers on ``app``."""
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(DataError, _unstorable_input)
    app.add_exception_handler(UnicodeEncodeError, _unstorable_input)
