"""Benchmark settings from the environment: a bad value exits with a message naming the variable."""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def positive_int(name: str, default: int) -> int:
    """A whole number >= 1 from the environment; anything else exits naming the variable."""
    raw = os.environ.get(name, str(default))
    digits = raw.strip()
    # isascii: str.isdigit() also accepts digits int() refuses ("²")
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:
        sys.exit(f"{name}: expected a whole number >= 1, got {raw!r}")
    return int(digits)


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


def names(name: str, known: Sequence[str], separator: str = ",") -> list[str]:
    """Some of ``known`` from the environment (``separator`` between them, spaces around each ignored), in
    the order given; unset or blank: all of them. An unknown name exits naming it and the known ones."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return list(known)
    chosen = [part.strip() for part in raw.split(separator)]
    if unknown := [part for part in chosen if part not in known]:
        sys.exit(f"{name}: unknown {unknown}; known: {list(known)}")
    return chosen
