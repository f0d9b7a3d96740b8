"""A TCP server that accepts connections and never answers: the far side of every timeout test.

It completes the TCP handshake (so ``connect`` succeeds), then neither reads nor writes nor closes
until the context ends, like a wedged process whose listen socket is still open. TLS handshakes,
HTTP requests and protocol greetings sent to it hang until the client's deadline.

    with tcp_blackhole() as hole:
        await checks.tcp.run(f"127.0.0.1:{hole.port}", ...)
        assert hole.accepted >= 1
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class TcpBlackhole:
    """The listening socket's port, and how many connections it accepted so far."""

    port: int
    host: str = "127.0.0.1"
    accepted: int = 0
    _conns: list[socket.socket] = field(default_factory=list, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@contextlib.contextmanager
def tcp_blackhole(host: str = "127.0.0.1") -> Iterator[TcpBlackhole]:
    """Listen on a free port of ``host``; accept everything, answer nothing; close all on exit."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(64)
    hole = TcpBlackhole(port=listener.getsockname()[1], host=host)
    stop = threading.Event()

    def accept_forever() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            hole._conns.append(conn)  # kept open (and unread) until the context ends
            hole.accepted += 1

    thread = threading.Thread(target=accept_forever, name=f"tcp-blackhole-{hole.port}", daemon=True)
    thread.start()
    try:
        yield hole
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in hole._conns:
            conn.close()
        listener.close()
