"""What a chat WebSocket client may send, and the frames the server sends back.

Client → server (JSON text frames):
- ``{"type": "message", "body": "...", "client_id": "optional, echoed back"}``
- ``{"type": "ping"}`` → ``{"type": "pong"}``

Server → client: ``{"type": "message", "message": {...}}`` for every message of the conversation
(including the sender's own, which is its acknowledgement), ``{"type": "error", "error": {"code",
"message"}}`` for a frame that was refused. A bad frame never closes the connection: closing would make
clients reconnect in a loop.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_FRAME_CHARS = 8_192
MAX_MESSAGE_CHARS = 2_000
MAX_CLIENT_ID_CHARS = 64


class FrameError(ValueError):
    """A refused frame; ``code`` is a short machine-readable word."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SendMessage:
    body: str
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    pass


def validate_body(body: Any) -> str:
    """A message body: a string, 1..MAX_MESSAGE_CHARS after trimming; FrameError otherwise."""
    if not isinstance(body, str):
        raise FrameError("invalid_body", "body must be a string")
    body = body.strip()
    if "\x00" in body:  # Postgres text cannot hold NUL
        raise FrameError("invalid_body", "body must not contain NUL characters")
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800-style JSON escape
        raise FrameError("invalid_body", "body is not valid Unicode") from None
    if not body:
        raise FrameError("invalid_body", "body must not be empty")
    if len(body) > MAX_MESSAGE_CHARS:
        raise FrameError("body_too_long", f"body is longer than {MAX_MESSAGE_CHARS} characters")
    return body


def parse_frame(text: str) -> SendMessage | Ping:
    """Parse one client text frame; FrameError naming what is wrong."""
    if len(text) > MAX_FRAME_CHARS:
        raise FrameError("frame_too_large", f"frame is larger than {MAX_FRAME_CHARS} characters")
    try:
        data = json.loads(text)
    except ValueError:
        raise FrameError("invalid_json", "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "frame must be a JSON object")
    kind = data.get("type")
    if kind == "ping":
        return Ping()
    if kind != "message":
        raise FrameError("unknown_type", "type must be 'message' or 'ping'")
    client_id = data.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID_CHARS):
        raise FrameError("invalid_client_id", f"client_id must be a string of at most {MAX_CLIENT_ID_CHARS} characters")
    return SendMessage(body=validate_body(data.get("body")), client_id=client_id)


def error_frame(code: str, message: str) -> str:
    return json.dumps({"type": "error", "error": {"code": code, "message": message}})


def message_frame(message: dict) -> str:
    return json.dumps({"type": "message", "message": message}, default=str)


PONG = json.dumps({"type": "pong"})


def ready_frame(conversation_id: int) -> str:
    return json.dumps({"type": "ready", "conversation_id": conversation_id})
