"""The routes of the test HTTP server the http and elasticsearch checks probe."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BEARER = "t0k3n-for-tests-9f8e7d"


class RoutesHandler(BaseHTTPRequestHandler):
    """The HTTP server the http and elasticsearch checks probe; one small route per behaviour tested.

    ``/<colour>/_cluster/health`` is a FAKE Elasticsearch cluster-health endpoint: no real single-node
    server can be made yellow or red on demand, so the yellow/red mapping is tested against it (the green
    path runs against osmem-server).
    """

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if url.path == "/ok":
            self._send(200, b"hello island rides")
        elif url.path == "/json":
            doc = {"status": "ok", "db": {"up": True, "pool": 3}, "items": [{"name": "nassau"}]}
            self._send(200, json.dumps(doc).encode(), "application/json")
        elif parts[0] == "status":
            self._send(int(parts[1]), b"as you asked")
        elif parts[0] == "redirect":
            hops = int(parts[1])
            self._send(302, headers={"Location": f"/redirect/{hops - 1}" if hops > 1 else "/ok"})
        elif url.path == "/redirect-to":
            self._send(int(query.get("code", ["302"])[0]), headers={"Location": query["url"][0]})
        elif url.path == "/slow":
            time.sleep(float(query["s"][0]))
            self._send(200, b"finally")
        elif url.path == "/host":
            self._send(200, (self.headers.get("Host") or "").encode())
        elif url.path == "/auth":
            ok = self.headers.get("Authorization") == f"Bearer {BEARER}"
            self._send(200 if ok else 401, b"welcome" if ok else b"who are you")
        elif (
            len(parts) == 3 and parts[0] in ("green", "yellow", "red") and parts[1:] == ["_cluster", "health"]
        ):
            doc = {
                "cluster_name": "fake",
                "status": parts[0],
                "number_of_nodes": 3,
                "active_shards": 10,
                "unassigned_shards": 0 if parts[0] == "green" else 4,
            }
            self._send(200, json.dumps(doc).encode(), "application/json")
        else:
            self._send(404, b"no such route")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path.startswith("/redirect-to"):
            return self.do_GET()
        self._send(200, b"got " + body)


@contextlib.contextmanager
def serve_routes(server: ThreadingHTTPServer) -> Iterator[str]:
    """Serve ``server`` in a thread; yields its host:port."""
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def https_server(context: ssl.SSLContext) -> Iterator[int]:
    """The routes over HTTPS with ``context``'s certificate, on a free port (yielded)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), RoutesHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serve_routes(server) as address:
        yield int(address.rsplit(":", 1)[1])
