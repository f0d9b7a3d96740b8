"""A small HTTP proxy in front of osmem-server that injects the failures the shipper must survive.

- ``down()`` / ``up()``: stop listening and cut every open connection (clients get "connection refused",
  as when Elasticsearch is stopped), then listen again on the same port. The data behind it is kept, which
  stopping osmem-server itself would lose (it is in-memory only).
- ``reject_429(every=k)``: in each ``_bulk`` request, items whose ``_id`` hashes to 0 modulo ``k`` are
  answered 429 (``es_rejected_execution_exception``) the first time they are seen; the other items go to
  the server. ``seen`` counts how often each ``_id`` was sent, so a test can prove that only the rejected
  items were sent again.

Everything else is forwarded unchanged.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import socket
import ssl
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
# Forwarded requests never ask for compressed answers, so the proxy can read and pass them on as they are.
DROPPED_REQUEST_HEADERS = HOP_BY_HOP | {"accept-encoding"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class EsFaultProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream`` (``http://host:port``) with switchable faults."""

    def __init__(self, upstream: str, port: int, tls_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.port = port
        self.tls_context = tls_context  # serve HTTPS with this server-side context
        self.reject_every = 0
        self.seen: Counter[str] = Counter()
        self.rejected: set[str] = set()
        self.last_headers: dict[str, str] = {}  # of the last request, as the client sent them
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls_context else 'http'}://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Listen (again) on the same port."""
        self._server = _Server(("127.0.0.1", self.port), _handler_for(self))
        if self.tls_context is not None:
            self._server.socket = self.tls_context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening and reset every open connection."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        with self._lock:
            for conn in list(self._conns):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._conns.clear()

    def reject_429(self, every: int) -> None:
        """Answer 429 for the first sending of every ``every``-th item (by ``_id`` hash); 0 turns it off."""
        self.reject_every = every

    def should_reject(self, doc_id: str) -> bool:
        if not self.reject_every or doc_id in self.rejected:
            return False
        digest = hashlib.blake2b(doc_id.encode(), digest_size=4).digest()
        return int.from_bytes(digest, "big") % self.reject_every == 0


def _handler_for(proxy: EsFaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with proxy._lock:
                proxy._conns.add(self.connection)

        def finish(self) -> None:
            with proxy._lock:
                proxy._conns.discard(self.connection)
            try:
                super().finish()
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            proxy.last_headers = {k.lower(): v for k, v in self.headers.items()}
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in DROPPED_REQUEST_HEADERS}
            if self.command in ("POST", "PUT") and self.path.split("?", 1)[0].endswith("/_bulk"):
                status, rheaders, rbody = _bulk(proxy, self.command, self.path, body, headers)
            else:
                status, rheaders, rbody = _forward(proxy, self.command, self.path, body, headers)
            self.send_response(status)
            for key, value in rheaders:
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("content-length", str(len(rbody)))
            self.end_headers()
            self.wfile.write(rbody)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    return Handler


def _forward(proxy: EsFaultProxy, method: str, path: str, body: bytes,
             headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def _bulk(proxy: EsFaultProxy, method: str, path: str, body: bytes,
          headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
    lines = body.split(b"\n")
    pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2) if lines[i]]
    keep: list[int] = []
    answers: dict[int, dict[str, Any]] = {}
    with proxy._lock:
        for position, (action, _) in enumerate(pairs):
            op, meta = next(iter(json.loads(action).items()))
            doc_id = str(meta.get("_id"))
            proxy.seen[doc_id] += 1
            if proxy.should_reject(doc_id):
                proxy.rejected.add(doc_id)
                answers[position] = {op: {"_id": doc_id, "status": 429, "error": {
                    "type": "es_rejected_execution_exception", "reason": "injected by es_fault_proxy"}}}
            else:
                keep.append(position)
    if not answers:
        return _forward(proxy, method, path, body, headers)
    items: list[Any] = []
    status, rheaders = 200, [("content-type", "application/json"), ("x-elastic-product", "Elasticsearch")]
    if keep:
        forwarded = b"".join(pairs[p][0] + b"\n" + pairs[p][1] + b"\n" for p in keep)
        status, rheaders, rbody = _forward(proxy, method, path, forwarded, headers)
        if status != 200:
            return status, rheaders, rbody
        items = json.loads(rbody).get("items") or [{"create": {"status": 201}} for _ in keep]
    merged: list[Any] = [None] * len(pairs)
    for position, item in zip(keep, items):
        merged[position] = item
    for position, item in answers.items():
        merged[position] = item
    return status, rheaders, json.dumps({"errors": True, "took": 1, "items": merged}).encode()
