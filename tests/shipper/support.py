"""Helpers of the shipper tests: writing numbered ECS lines, configs, and counting what arrived exactly."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch

from agent.shipper.config import ShipperConfig
from exporters.elasticsearch.bulk import make_client

INDEX = "islandrides-logs-*"


def ecs_line(seq: int, **extra: Any) -> bytes:
    """One ECS log line carrying its sequence number in ``message`` (``seq <n>``)."""
    doc = {"@timestamp": f"2026-11-25T10:{seq // 60000 % 60:02d}:{seq // 1000 % 60:02d}.{seq % 1000:03d}Z",
           "log.level": "info", "message": f"seq {seq}", "service.name": "island-api", **extra}
    return orjson.dumps(doc) + b"\n"


def shipper_config(tmp: Path, es_url: str, patterns: list[str], **overrides: Any) -> ShipperConfig:
    """A config for tests: fast polling, small batches, short backoff; unmapped fields not indexed."""
    data: dict[str, Any] = {
        "inputs": [{"paths": patterns, "service_name": "island-api"}],
        "host_name": "test-host",
        "state_dir": str(tmp / "state"),
        "elasticsearch": {"hosts": [es_url], "index_unmapped_fields": False, "request_timeout_s": 10},
        "batch": {"max_events": 1000, "max_wait_s": 0.2},
        "retry": {"initial_backoff_s": 0.05, "max_backoff_s": 1.0},
        "scan_interval_s": 0.2, "poll_interval_s": 0.05, "checkpoint_interval_s": 0.2,
        "close_inactive_s": 2.0,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return ShipperConfig.model_validate(data)


def client(url: str) -> Elasticsearch:
    return make_client([url], request_timeout=60)


def count(es: Elasticsearch, index: str = INDEX) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def all_docs(es: Elasticsearch, index: str = INDEX) -> list[dict]:
    """Every document (``_id`` plus its ``_source``), paged with search_after."""
    es.indices.refresh(index=index)
    docs: list[dict] = []
    after = None
    while True:
        kwargs: dict[str, Any] = {"search_after": after} if after else {}
        hits = es.search(index=index, size=5000, sort=[{"log.file.path": "asc"}, {"log.offset": "asc"}],
                         **kwargs)["hits"]["hits"]
        if not hits:
            return docs
        docs += [{"_id": h["_id"], **h["_source"]} for h in hits]
        after = hits[-1]["sort"]


def seqs(docs: list[dict]) -> list[int]:
    """The sequence numbers of documents whose message is ``seq <n>``."""
    return [int(d["message"].split()[1]) for d in docs if str(d.get("message", "")).startswith("seq ")]


class Writer(threading.Thread):
    """Appends numbered lines to ``path`` (like an application with O_APPEND), with hooks for rotation."""

    def __init__(self, path: Path, total: int, per_burst: int = 500, pause_s: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.path, self.total, self.per_burst, self.pause_s = path, total, per_burst, pause_s
        self.written = 0
        self.lock = threading.Lock()
        self.file = open(path, "ab")  # noqa: SIM115 (held open across bursts, like an application's log)
        self.rotations: dict[int, Any] = {}  # at this many lines written, call fn(writer) under the lock
        self.error: BaseException | None = None

    def run(self) -> None:
        stop = threading.Event()
        try:
            while self.written < self.total:
                with self.lock:
                    n = min(self.per_burst, self.total - self.written)
                    for seq in range(self.written, self.written + n):
                        hook = self.rotations.pop(seq, None)
                        if hook:
                            self.file.flush()
                            hook(self)
                        self.file.write(ecs_line(seq))
                    self.file.flush()
                    self.written += n
                stop.wait(self.pause_s)
        except Exception as exc:  # noqa: BLE001 (surfaced by the test through .error)
            self.error = exc
        finally:
            self.file.close()

    def reopen(self) -> None:
        self.file.close()
        self.file = open(self.path, "ab")  # noqa: SIM115 (closed by the next reopen or the end of run)


def write_lines(path: Path, lines: list[bytes]) -> None:
    with open(path, "ab") as f:
        f.write(b"".join(lines))
        f.flush()
        os.fsync(f.fileno())
