"""Cursor keys for the chat and review listings (signed with ``api.cursor``)."""
from __future__ import annotations

import hashlib

from api.settings import Settings


def cursor_key(settings: Settings) -> bytes:
    """The HMAC key for listing cursors: CURSOR_SECRET, or one derived from JWT_SECRET."""
    secret = settings.cursor_secret or settings.jwt_secret
    return hashlib.sha256(b"island-rides listing cursor|" + secret.encode()).digest()
