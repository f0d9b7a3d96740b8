"""The pieces of the end-to-end monitoring stack that tests/support/services.py does not launch itself.

- ``fast_alert_rules``: a test-only copy of the real alerting rules with every ``for:`` shortened;
- ``alertmanager_test_config``: the real Alertmanager example with its webhooks pointed at the test's
  receiver and its waits shortened;
- ``prometheus_config``: scrape the API and the agent every second, the real recording rules, Alertmanager;
- ``WebhookReceiver``: an HTTP server in a thread collecting Alertmanager's webhook posts;
- ``AlertWatcher``: polls Prometheus' /api/v1/alerts in a thread and keeps every state it saw, so a test
  can tell that an alert was pending before it fired, whenever the test starts looking;
- ``tls_server``: a TLS endpoint (certificate from tests/support/tls.py) for the agent's tls check.
"""
from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import httpx
import yaml

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
RECORDING_RULES = DASHBOARDS / "rules" / "island-rides.rules.yml"
ALERTING_RULES = DASHBOARDS / "rules" / "island-rides.alerts.yml"
ALERTMANAGER_CONFIG = DASHBOARDS / "alertmanager.yml"


def fast_alert_rules(path: Path, for_duration: str = "3s") -> Path:
    """Write the real alerting rules to ``path`` with every ``for:`` set to ``for_duration``."""
    doc = yaml.safe_load(ALERTING_RULES.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = for_duration
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def alertmanager_test_config(path: Path, webhook_url: str) -> Path:
    """Write the real Alertmanager example to ``path``, every webhook posting to ``webhook_url``/<receiver>."""
    doc = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for route in [doc["route"], *doc["route"].get("routes", [])]:
        route.update(group_wait="1s", group_interval="1s")
    for receiver in doc["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{webhook_url}/{receiver['name']}"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def prometheus_config(path: Path, api: str, agent: str, alertmanager: str, rule_files: list[Path]) -> Path:
    """A Prometheus config scraping ``api`` and ``agent`` (host:port) every second, as the real jobs."""
    doc = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": "island-api", "static_configs": [{"targets": [api]}]},
            {"job_name": "island-agent", "static_configs": [{"targets": [agent]}]},
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@dataclass
class WebhookReceiver:
    """Collects the JSON bodies Alertmanager posts, with the path they were posted to."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    url: str = ""

    def alerts(self, alertname: str) -> list[tuple[str, dict[str, Any]]]:
        """(receiver path, alert) for every posted alert named ``alertname``."""
        return [(path, alert) for path, body in list(self.posts) for alert in body.get("alerts", [])
                if alert["labels"].get("alertname") == alertname]


@contextlib.contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on a free port in a thread."""
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.posts.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class AlertWatcher:
    """Records every (alertname, labels, state) Prometheus reports, polling every 200 ms in a thread."""

    def __init__(self, prometheus_url: str) -> None:
        self.url = prometheus_url
        self.seen: list[tuple[float, dict[str, str], str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            while not self._stop.is_set():
                # A poll can fail while Prometheus starts or reloads (seen: an empty 200 body, which is not
                # JSON); one failed poll must not end the watcher, or every later state goes unseen.
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError):
                    for alert in client.get("/api/v1/alerts").json()["data"]["alerts"]:
                        self.seen.append((time.monotonic(), alert["labels"], alert["state"]))
                self._stop.wait(0.2)

    def states(self, alertname: str, **labels: str) -> list[str]:
        """The states seen for matching alerts, in order, consecutive repeats collapsed."""
        states: list[str] = []
        for _, seen_labels, state in list(self.seen):
            matches = seen_labels.get("alertname") == alertname and all(
                seen_labels.get(k) == v for k, v in labels.items())
            if matches and (not states or states[-1] != state):
                states.append(state)
        return states

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@contextlib.contextmanager
def tls_server(context: ssl.SSLContext) -> Iterator[int]:
    """A TLS listener (it completes handshakes and answers nothing) on a free port; yields the port."""

    class Handler(BaseHTTPRequestHandler):
        def handle(self) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
