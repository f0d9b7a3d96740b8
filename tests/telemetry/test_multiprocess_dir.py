"""Multiprocess bookkeeping: the directory is wiped at start, a dead worker's live gauges are dropped at
the next scrape (the worker-level counts are covered by test_workers.py)."""
from __future__ import annotations

import os
import subprocess

from prometheus_client.mmap_dict import MmapedDict

from exporters import exposition


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_prepare_wipes_and_scrape_drops_dead_workers(tmp_path, monkeypatch):
    directory = tmp_path / "mp"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"left over from the last run")
    monkeypatch.setenv(exposition.ENV_VAR, str(directory))
    assert exposition.prepare_multiprocess_dir() == directory
    assert list(directory.iterdir()) == []

    dead = _dead_pid()
    for pid in (dead, os.getpid()):
        gauge = MmapedDict(str(directory / f"gauge_livesum_{pid}.db"))
        gauge.write_value('["http_server_active_requests", "http_server_active_requests", '
                          '{"http_request_method": "GET"}, "help"]', 1.0, 0.0)
        gauge.close()
    body, content_type = exposition.render_metrics(None)
    assert content_type.startswith("text/plain")
    assert not (directory / f"gauge_livesum_{dead}.db").exists()
    assert (directory / f"gauge_livesum_{os.getpid()}.db").exists()
    assert b'http_server_active_requests{http_request_method="GET"} 1.0' in body
