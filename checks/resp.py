"""Just enough of the Redis protocol (RESP2) for a health check: AUTH, SELECT, PING, INFO.

Why not redis-py: importing ``redis.asyncio`` (redis-py 8) costs 23-28 MB of RSS and ~0.4 s (it loads
every command module and the OpenTelemetry SDK), measured with /proc/self/status before and after the
import; the agent's whole budget is 80 MB. A check needs four commands and a reply parser, below.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from checks.guard import TargetError


class RespError(Exception):
    """The server answered a command with an error reply (``-ERR ...``, ``-NOAUTH ...``)."""


@dataclass(frozen=True)
class RedisAddress:
    """Where and how to connect, read from a ``redis://``, ``rediss://`` or ``unix://`` URL."""

    host: str | None
    port: int
    path: str | None
    tls: bool
    username: str | None
    password: str | None
    db: int


def parse_url(url: str) -> RedisAddress:
    """``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` or ``unix:///path?db=0``."""
    try:
        parts = urlsplit(url)
        port = parts.port or 6379
    except ValueError as exc:
        raise TargetError(f"target is not a valid Redis URL: {exc}") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise TargetError("target must be a redis://, rediss:// or unix:// URL")
    query = parse_qs(parts.query)
    db_text = query.get("db", [parts.path.strip("/") if parts.scheme != "unix" else ""])[0] or "0"
    if not db_text.isdigit():
        raise TargetError("target's database (the URL path) is not a number")  # the path may hold a password
    password = unquote(parts.password) if parts.password else query.get("password", [None])[0]
    if parts.scheme == "unix" and not parts.path:
        raise TargetError("unix:// target has no socket path")
    if parts.scheme != "unix" and not parts.hostname:
        raise TargetError("target has no host")
    return RedisAddress(
        host=parts.hostname,
        port=port,
        path=parts.path if parts.scheme == "unix" else None,
        tls=parts.scheme == "rediss",
        username=unquote(parts.username) if parts.username else None,
        password=password,
        db=int(db_text),
    )


def encode(*args: str) -> bytes:
    """A command as a RESP array of bulk strings."""
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def read_reply(reader: asyncio.StreamReader) -> Any:
    """One RESP2 reply: str, int, bytes, None, or a list of those; error replies raise RespError."""
    line = await reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionResetError("connection closed by the server")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RespError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else (await reader.readexactly(size + 2))[:-2]
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [await read_reply(reader) for _ in range(size)]
    raise RespError(f"not a Redis reply: {line[:40]!r}")


class RespConnection:
    """One connection to a Redis server; commands are sent one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, address: RedisAddress, context: ssl.SSLContext | None) -> RespConnection:
        """Connect (TLS for rediss://), then AUTH and SELECT as the URL asks."""
        if address.path is not None:
            reader, writer = await asyncio.open_unix_connection(address.path)
        else:
            reader, writer = await asyncio.open_connection(
                address.host, address.port, ssl=context if address.tls else None
            )
        connection = cls(reader, writer)
        try:
            if address.password is not None:
                auth = [address.username, address.password] if address.username else [address.password]
                await connection.command("AUTH", *auth)
            if address.db:
                await connection.command("SELECT", str(address.db))
        except BaseException:
            connection.close()
            raise
        return connection

    async def command(self, *args: str) -> Any:
        """Send one command and return its reply."""
        self.writer.write(encode(*args))
        await self.writer.drain()
        return await read_reply(self.reader)

    def close(self) -> None:
        """Drop the connection without waiting (a health check has nothing left to say)."""
        self.writer.transport.abort()


def parse_info(text: str) -> dict[str, Any]:
    """INFO's ``key:value`` lines as a dict; integer and float values converted."""
    info: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        for convert in (int, float):
            try:
                info[key] = convert(value)
                break
            except ValueError:
                continue
        else:
            info[key] = value
    return info
