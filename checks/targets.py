"""Reading ``target`` strings: ``host:port``, ``[v6]:port`` or ``scheme://host:port/...``."""

from __future__ import annotations

from urllib.parse import urlsplit

from checks.guard import TargetError


def host_port(target: str, default_port: int | None = None) -> tuple[str, int]:
    """``(host, port)`` from ``target``; a missing port takes ``default_port`` or is an error."""
    text = target.strip()
    if not text:
        raise TargetError("target is empty: expected host:port")
    try:
        parts = urlsplit(text if "://" in text else f"//{text}")
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise TargetError(f"target {text!r} is not host:port ({exc})") from None
    if not host:
        raise TargetError(f"target {text!r} has no host")
    port = port or default_port
    if port is None:
        raise TargetError(f"target {text!r} has no port")
    return host, port
