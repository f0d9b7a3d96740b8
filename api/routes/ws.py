"""WebSockets: ``/v1/ws/conversations/{id}`` (chat, JWT-authenticated) and ``/v1/ws/ping`` (monitoring echo).

Protocol details live with the code: ``api.chat.socket`` (authentication, close codes) and
``api.chat.frames`` (frames), ``api.chat.ping`` (the echo).
"""
from __future__ import annotations

from fastapi import APIRouter, WebSocket

from api.chat.ping import serve_ping
from api.chat.socket import serve_conversation

router = APIRouter(tags=["chat"])

MAX_ID = 2**63 - 1


@router.websocket("/v1/ws/conversations/{conversation_id}")
async def conversation_socket(websocket: WebSocket, conversation_id: str) -> None:
    """Live messages of one conversation, both ways."""
    # Parsed here rather than by FastAPI so a bad id gets the documented close code, not a 1008.
    number = int(conversation_id) if conversation_id.isdigit() and len(conversation_id) < 20 else 0
    await serve_conversation(websocket, number if 1 <= number <= MAX_ID else 0)


@router.websocket("/v1/ws/ping")
async def ping_socket(websocket: WebSocket) -> None:
    """Echo of each text frame after a round trip through Redis pub/sub."""
    await serve_ping(websocket)
