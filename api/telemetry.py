"""The one place where the API wires its telemetry (everything it uses lives in ``exporters``).

``configure_logging(settings)`` (first thing in ``create_app``) sets up ECS JSON logs to stdout and
``$LOG_DIR/api.log``; ``install(app, settings)`` (last thing, so its middleware is the outermost and sees
every response) adds the metrics/trace/access-log middleware and ``GET /metrics``, instruments the
database pool's cursors and the Redis client (when metrics or traces are on: they feed nothing else), and
switches ``exporters.instruments`` on.
``ISLAND_TELEMETRY=off`` leaves all of that out (see ``exporters.config``).
"""
from __future__ import annotations

import os
from functools import lru_cache
from importlib import metadata
from typing import Any

from api.settings import ConfigError
from exporters import exposition, instruments, tracing
from exporters.asgi import TelemetryMiddleware
from exporters.config import TelemetryConfig, TelemetryConfigError
from exporters.db_instrumentation import InstrumentedAsyncCursor, watch_pool
from exporters.logs import configure_logging as configure_exporters_logging
from exporters.redis_instrumentation import instrument_redis

LOG_FILE = "api.log"


@lru_cache(maxsize=1)
def service_version() -> str:
    """The installed package version (service.version in logs, traces and metrics)."""
    try:
        return metadata.version("island-rides")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def telemetry_config() -> TelemetryConfig:
    """The telemetry switches from the environment; a bad value is a ConfigError naming the variable."""
    try:
        return TelemetryConfig.from_env()
    except TelemetryConfigError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None


def configure_logging(settings: Any) -> None:
    """Process-wide logging: ECS JSON lines to stdout and ``$LOG_DIR/api.log`` (or, with telemetry off, a
    minimal JSON line to stdout)."""
    config = telemetry_config()
    level = os.environ.get("LOG_LEVEL", getattr(settings, "log_level", "info"))
    try:
        configure_exporters_logging(settings.service_name, service_version(), settings.log_dir, level,
                                    ecs=config.logs, log_file=LOG_FILE,
                                    flush_interval_s=config.log_flush_ms / 1000)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None


def install(app: Any, settings: Any) -> None:
    """Wire metrics, traces and the access log into ``app`` according to ``ISLAND_TELEMETRY``."""
    config = telemetry_config()
    instruments.enable(config.metrics, config.traces)
    if config.traces:
        tracing.configure_tracing(settings.service_name, service_version(), config.sampler_ratio,
                                  otlp_endpoint=config.otlp_endpoint, otlp_protocol=config.otlp_protocol)
    else:
        tracing.disable_tracing()
    if not config.enabled:
        return
    pool = getattr(app.state, "pool", None)
    # SQL statements and Redis commands give durations (metrics) and client spans (traces), nothing to the
    # logs: with ISLAND_TELEMETRY=logs they are left alone (the Redis wrapper timed every command for no one).
    if config.metrics or config.traces:
        if pool is not None and isinstance(pool.kwargs or {}, dict):
            # The pool is created closed; its connect kwargs are read when it opens, after this.
            pool.kwargs = {**(pool.kwargs or {}), "cursor_factory": InstrumentedAsyncCursor}
        redis = getattr(app.state, "redis", None)
        if redis is not None:
            instrument_redis(redis)
    if config.metrics:
        if pool is not None:
            watch_pool(pool, getattr(pool, "name", None) or "main")
        exposition.register_worker_exit()
        app.add_route("/metrics", exposition.metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(TelemetryMiddleware, config=config)


def prepare_workers(workers: int) -> None:
    """In ``island-api serve`` before uvicorn starts: with several workers (or PROMETHEUS_MULTIPROC_DIR set),
    switch metrics to prometheus_client's multiprocess mode with a freshly wiped directory."""
    config = telemetry_config()
    if config.metrics and (workers > 1 or exposition.multiprocess_dir()):
        exposition.prepare_multiprocess_dir()
