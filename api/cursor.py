"""Opaque, tamper-proof pagination cursors.

A cursor is ``base64url(json payload) "." base64url(HMAC-SHA256)``. The payload carries the keyset
position and a digest of the normalised query it was issued for, so a client can neither edit the
position nor reuse a cursor with other filters or another sort: both are a 400 naming ``cursor``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from api.errors import APIError

FIELD = "query.cursor"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_digest(normalised_query: dict[str, Any]) -> str:
    """A short digest of the query a cursor belongs to."""
    return hashlib.sha256(orjson.dumps(normalised_query, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


def _bad_cursor(message: str) -> APIError:
    return APIError(400, f"cursor: {message}", code="invalid_cursor", fields=[(FIELD, message)])


def encode_cursor(key: bytes, position: list[Any], digest: str) -> str:
    """Sign ``position`` (the last row's sort values) for the query identified by ``digest``."""
    payload = orjson.dumps({"p": position, "q": digest})
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def decode_cursor(key: bytes, cursor: str, digest: str) -> list[Any]:
    """The position in ``cursor``; 400 naming the field when it is malformed, forged or for another query."""
    try:
        payload_part, signature_part = cursor.split(".", 1)
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except (ValueError, TypeError):
        raise _bad_cursor("malformed cursor") from None
    if not hmac.compare_digest(signature, hmac.new(key, payload, hashlib.sha256).digest()):
        raise _bad_cursor("cursor signature is invalid")
    data = orjson.loads(payload)
    if data.get("q") != digest:
        raise _bad_cursor("cursor belongs to a different query (filters or sort changed)")
    position = data.get("p")
    if not isinstance(position, list):
        raise _bad_cursor("malformed cursor")
    return position
