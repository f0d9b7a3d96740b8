"""Serving ``/metrics``, in one process or across ``--workers N`` (prometheus_client multiprocess mode).

In one process a scrape renders prometheus_client's ``REGISTRY``, where the lock-free hot-path metrics of
``exporters.fast_metrics`` are registered as collectors beside prometheus_client's own.

Multiprocess mode is prometheus_client's documented path: every worker writes its samples to mmap files
in ``PROMETHEUS_MULTIPROC_DIR`` and any worker answering a scrape merges all the files. The variable must
be set before the workers import prometheus_client, so the parent process calls
``prepare_multiprocess_dir`` before it starts them (which also wipes what an earlier run left there).
Live gauges of a worker that died are dropped with ``mark_process_dead``: by each worker at exit, and at
scrape time for any worker that crashed without getting to do it.

prometheus_client does not keep exemplars in multiprocess mode (values.py: "TODO: Implement exemplars
for multiprocess mode"), so exemplars appear with a single worker only.
"""
from __future__ import annotations

import atexit
import glob
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import Response

ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"
_scrape_hooks: dict[str, Callable[[], None]] = {}
_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def prepare_multiprocess_dir(path: str | Path | None = None) -> Path:
    """Create (or empty) the multiprocess directory and export it in ``PROMETHEUS_MULTIPROC_DIR``.

    Call in the parent before starting workers; ``path`` defaults to the variable's current value or a
    new temporary directory.
    """
    given = path or os.environ.get(ENV_VAR)
    directory = Path(given or tempfile.mkdtemp(prefix="island-prom-mp-"))
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[ENV_VAR] = str(directory)
    if not given:  # ours alone: removed when the parent exits (spawned workers do not run its atexit)
        atexit.register(shutil.rmtree, directory, True)
    return directory


def multiprocess_dir() -> str | None:
    """The multiprocess directory when this process runs in multiprocess mode, else None."""
    return os.environ.get(ENV_VAR) or None


def register_worker_exit() -> None:
    """In a worker process: drop this worker's live gauges when it exits."""
    if multiprocess_dir():
        pid = os.getpid()
        atexit.register(lambda: mark_worker_dead(pid))


def mark_worker_dead(pid: int) -> None:
    """Drop the live gauges (active requests, pool, websockets) of worker ``pid``."""
    path = multiprocess_dir()
    if path and os.path.isdir(path):
        mark_process_dead(pid, path)


def _drop_dead_workers(path: str) -> None:
    for file in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = _LIVE_FILE.search(file)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)
        except PermissionError:
            pass


def on_scrape(name: str, hook: Callable[[], None]) -> None:
    """Run ``hook`` before every scrape (to refresh gauges read from a pool's statistics, ...); a later
    hook of the same ``name`` replaces the earlier one (an app rebuilt with a new pool)."""
    _scrape_hooks[name] = hook


def run_scrape_hooks() -> None:
    """Refresh every gauge that is read from somewhere else (pool statistics, ...)."""
    for hook in list(_scrape_hooks.values()):
        try:
            hook()
        except Exception:  # a broken gauge source must not break the whole scrape
            logging.getLogger(__name__).warning("metrics scrape hook failed", exc_info=True)


def _registry() -> CollectorRegistry:
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    _drop_dead_workers(path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return registry


def render_metrics(accept: str | None) -> tuple[bytes, str]:
    """The exposition body and its content type: OpenMetrics (with exemplars) when ``accept`` asks for
    it, the Prometheus text format otherwise."""
    run_scrape_hooks()
    encoder, content_type = choose_encoder(accept or "")
    return encoder(_registry()), content_type


async def metrics_endpoint(request: Request) -> Response:
    """Starlette endpoint for ``GET /metrics`` (content negotiation as in ``render_metrics``)."""
    body, content_type = render_metrics(request.headers.get("accept"))
    return Response(body, headers={"content-type": content_type})
