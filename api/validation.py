"""Input rules shared by every request model: text must be storable in PostgreSQL.

PostgreSQL ``text`` cannot hold NUL characters and UTF-8 cannot encode lone surrogates (which JSON's
``\\udXXX`` escapes can produce). ``ApiModel`` refuses both with a 422 naming the field, before any
query runs; ``install`` adds a last line of defence for models that do not derive from it.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_storable(value: Any) -> Any:
    """Raise ValueError if ``value`` (a string, or a list/dict holding strings) has unstorable characters."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise ValueError("must not contain NUL characters or unpaired surrogates")
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            check_storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key)
            check_storable(item)
    return value


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


class ApiModel(BaseModel):
    """Base of request bodies: unknown fields are refused and every string must be storable."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return check_storable(value)
