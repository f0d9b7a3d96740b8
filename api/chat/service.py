"""Chat operations shared by the REST routes and the WebSocket: authorise, store, fan out."""
from __future__ import annotations

from typing import Any

import structlog
from psycopg import AsyncConnection

from api.chat import repository
from api.chat.frames import message_frame
from api.chat.pubsub import Fanout
from api.errors import APIError, not_found
from api.log_fields import error_fields

log = structlog.get_logger("api.chat")


def conversation_channel(fanout: Fanout, conversation_id: int) -> str:
    return fanout.channel(f"conversation:{conversation_id}")


class NotParticipant(Exception):
    """The user is not the renter or host of the conversation's booking."""


class UnknownConversation(Exception):
    """No conversation has this id."""


async def check_participant(conn: AsyncConnection[Any], conversation_id: int, user_id: int) -> None:
    """Raise UnknownConversation / NotParticipant unless ``user_id`` may read and write it."""
    parties = await repository.get_participants(conn, conversation_id)
    if parties is None:
        raise UnknownConversation(conversation_id)
    if user_id not in (parties["renter_id"], parties["host_id"]):
        raise NotParticipant(conversation_id)


async def require_participant(conn: AsyncConnection[Any], conversation_id: int, user_id: int) -> None:
    """REST flavour of ``check_participant``: 404 unknown conversation, 403 not a participant."""
    try:
        await check_participant(conn, conversation_id, user_id)
    except UnknownConversation:
        raise not_found("conversation") from None
    except NotParticipant:
        raise APIError(403, "only the renter and the host of the booking can use this conversation") from None


async def post_message(conn: AsyncConnection[Any], fanout: Fanout, conversation_id: int, sender_id: int,
                       body: str, client_id: str | None = None) -> dict:
    """Store the message, then publish it to every WebSocket on the conversation (in any process).

    The message is committed first: if Redis is down it is still stored (clients see it in the history),
    only the live delivery is lost, which is logged.
    """
    message = await repository.add_message(conn, conversation_id, sender_id, body)
    outgoing = {**message, "client_id": client_id} if client_id else message
    try:
        await fanout.publish(conversation_channel(fanout, conversation_id), message_frame(outgoing))
    except Exception as exc:  # noqa: BLE001 - the stored message stands; live delivery is best effort
        log.warning("chat message stored but not fanned out", conversation_id=conversation_id,
                    **error_fields(exc))
    return message
