"""SQL for conversations and messages. A conversation belongs to one booking and its two parties.

Conversations are created lazily: the first time either party lists their conversations or opens the
one of a booking, the missing rows are inserted (``ON CONFLICT DO NOTHING`` on the unique booking_id,
so two concurrent first accesses are harmless).
"""
from __future__ import annotations

from typing import Any, Literal

from psycopg import AsyncConnection

Order = Literal["desc", "asc"]

_CONVERSATION_COLUMNS = """
    c.id, c.booking_id, c.renter_id, c.host_id, c.created_at,
    b.vehicle_id, b.status AS booking_status, b.start_date, b.end_date,
    (SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = c.id) AS last_message_at
"""


async def ensure_for_user(conn: AsyncConnection[Any], user_id: int) -> None:
    """Create the missing conversation of every booking ``user_id`` is a party of."""
    await conn.execute(
        """
        INSERT INTO conversations (booking_id, renter_id, host_id)
        SELECT b.id, b.renter_id, b.host_id FROM bookings b
         WHERE (b.renter_id = %(u)s OR b.host_id = %(u)s)
           AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.booking_id = b.id)
        ON CONFLICT (booking_id) DO NOTHING
        """,
        {"u": user_id},
    )


async def for_booking(conn: AsyncConnection[Any], booking_id: int, user_id: int) -> dict[str, Any] | None:
    """The booking's conversation (created if missing) when ``user_id`` is its renter or host, else None."""
    await conn.execute(
        """
        INSERT INTO conversations (booking_id, renter_id, host_id)
        SELECT id, renter_id, host_id FROM bookings WHERE id = %(b)s AND (renter_id = %(u)s OR host_id = %(u)s)
        ON CONFLICT (booking_id) DO NOTHING
        """,
        {"b": booking_id, "u": user_id},
    )
    cur = await conn.execute(
        f"SELECT {_CONVERSATION_COLUMNS} FROM conversations c JOIN bookings b ON b.id = c.booking_id"
        " WHERE c.booking_id = %(b)s AND (c.renter_id = %(u)s OR c.host_id = %(u)s)",
        {"b": booking_id, "u": user_id},
    )
    return await cur.fetchone()


async def list_for_user(conn: AsyncConnection[Any], user_id: int) -> list[dict[str, Any]]:
    """The user's conversations, most recently active first."""
    await ensure_for_user(conn, user_id)
    cur = await conn.execute(
        f"SELECT {_CONVERSATION_COLUMNS} FROM conversations c JOIN bookings b ON b.id = c.booking_id"
        " WHERE c.renter_id = %(u)s OR c.host_id = %(u)s"
        " ORDER BY coalesce((SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = c.id),"
        " c.created_at) DESC, c.id DESC LIMIT 500",
        {"u": user_id},
    )
    return await cur.fetchall()


async def get_participants(conn: AsyncConnection[Any], conversation_id: int) -> dict[str, Any] | None:
    """``{"renter_id", "host_id"}`` of a conversation, or None when it does not exist."""
    cur = await conn.execute("SELECT renter_id, host_id FROM conversations WHERE id = %s", (conversation_id,))
    return await cur.fetchone()


async def add_message(conn: AsyncConnection[Any], conversation_id: int, sender_id: int, body: str) -> dict[str, Any]:
    """Store one message; returns it as sent to clients."""
    cur = await conn.execute(
        "INSERT INTO messages (conversation_id, sender_id, body) VALUES (%s, %s, %s)"
        " RETURNING id, conversation_id, sender_id, body, created_at",
        (conversation_id, sender_id, body),
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def list_messages(conn: AsyncConnection[Any], conversation_id: int, *, order: Order, limit: int,
                        after_id: int | None) -> list[dict[str, Any]]:
    """One page of messages in ``order`` of id (ids grow with time), strictly past ``after_id``."""
    comparison, direction = (">", "ASC") if order == "asc" else ("<", "DESC")
    bound = f"AND id {comparison} %(after)s" if after_id is not None else ""
    cur = await conn.execute(
        f"SELECT id, conversation_id, sender_id, body, created_at FROM messages"
        f" WHERE conversation_id = %(c)s {bound} ORDER BY id {direction} LIMIT %(limit)s",
        {"c": conversation_id, "after": after_id, "limit": limit},
    )
    return await cur.fetchall()
