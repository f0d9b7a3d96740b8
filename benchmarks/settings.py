"""Benchmark settings from the environment: a bad value exits with a message naming the variable."""
from __future__ import annotations

import os
import sys


def positive_int(name: str, default: int) -> int:
    """A whole number >= 1 from the environment; anything else exits naming the variable."""
    raw = os.environ.get(name, str(default))
    if not raw.strip().isdigit() or int(raw) < 1:
        sys.exit(f"{name}: expected a whole number >= 1, got {raw!r}")
    return int(raw)


def ratio(name: str, default: float) -> float:
    """A number from 0 to 1 from the environment; anything else exits naming the variable."""
    raw = os.environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        sys.exit(f"{name}: expected a number from 0 to 1, got {raw!r}")
    return value


def flag(name: str, default: bool) -> bool:
    """On unless the variable is empty or "0" (its default when unset: ``default``)."""
    return os.environ.get(name, "1" if default else "") not in ("", "0")
