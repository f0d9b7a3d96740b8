"""Numbers as people read them in check outputs."""

from __future__ import annotations


def human_bytes(size: float) -> str:
    """``1536`` -> ``"1.5 KiB"``; bytes below 1 KiB as integers."""
    if size < 1024:
        return f"{size:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            break
    return f"{size:.1f} {unit}"
