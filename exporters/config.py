"""What telemetry a process runs, read once from its environment.

``ISLAND_TELEMETRY`` is ``on`` (default: metrics, traces and ECS logs), ``off`` (no middleware, no-op
instruments, plain minimal logging) or a comma list of the parts to keep, e.g. ``metrics`` or
``metrics,logs`` -- the benchmark uses that to price each part alone. The OpenTelemetry variables keep
their standard meaning (``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SDK_DISABLED``,
``OTEL_EXPORTER_OTLP_PROTOCOL``), except that the OTLP protocol defaults to ``http/json`` (a quarter of
the protobuf encoder's CPU a span, see exporters/otlp_json.py); ``http/protobuf`` remains available.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

PARTS = ("metrics", "traces", "logs")
DEFAULT_EXCLUDED_PATHS = ("/metrics", "/livez", "/readyz", "/health")
DEFAULT_SAMPLER_RATIO = 0.1
OTLP_PROTOCOLS = ("http/json", "http/protobuf")
DEFAULT_LOG_FLUSH_MS = 20
MAX_LOG_FLUSH_MS = 1000


class TelemetryConfigError(ValueError):
    """A telemetry environment variable has a bad value; the message names the variable."""


@dataclass(frozen=True)
class TelemetryConfig:
    """The telemetry switches of one process."""

    metrics: bool = True
    traces: bool = True
    logs: bool = True
    sampler_ratio: float = DEFAULT_SAMPLER_RATIO
    excluded_paths: frozenset[str] = frozenset(DEFAULT_EXCLUDED_PATHS)
    otlp_endpoint: str | None = None
    otlp_protocol: str = OTLP_PROTOCOLS[0]
    log_flush_ms: int = DEFAULT_LOG_FLUSH_MS  # lines are written at most this long after they are logged

    @property
    def enabled(self) -> bool:
        """True when any part of the telemetry is on."""
        return self.metrics or self.traces or self.logs

    @classmethod
    def off(cls) -> TelemetryConfig:
        return cls(metrics=False, traces=False, logs=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelemetryConfig:
        """Read the switches from ``environ`` (default ``os.environ``); raise TelemetryConfigError."""
        env = os.environ if environ is None else environ
        parts = _parse_parts(env.get("ISLAND_TELEMETRY", "on"))
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            parts.discard("traces")
        return cls(
            metrics="metrics" in parts,
            traces="traces" in parts,
            logs="logs" in parts,
            sampler_ratio=_parse_ratio(env.get("OTEL_TRACES_SAMPLER_ARG")),
            excluded_paths=_parse_paths(env.get("ISLAND_TELEMETRY_EXCLUDED_PATHS")),
            otlp_endpoint=(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                           or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None),
            otlp_protocol=_parse_protocol(env),
            log_flush_ms=_parse_flush_ms(env.get("ISLAND_LOG_FLUSH_MS")),
        )


def _parse_protocol(env: Mapping[str, str]) -> str:
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        raw = env.get(name, "").strip().lower()
        if raw:
            if raw not in OTLP_PROTOCOLS:
                raise TelemetryConfigError(f"{name}: {raw!r} is not supported; use {' or '.join(OTLP_PROTOCOLS)}")
            return raw
    return OTLP_PROTOCOLS[0]


def _parse_parts(raw: str) -> set[str]:
    value = raw.strip().lower()
    if value in ("on", "true", "1", "yes", "full", ""):
        return set(PARTS)
    if value in ("off", "false", "0", "no", "none"):
        return set()
    parts = {p.strip() for p in value.split(",") if p.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        raise TelemetryConfigError(
            f"ISLAND_TELEMETRY: unknown part(s) {sorted(unknown)}; use on, off or a list of {', '.join(PARTS)}")
    return parts


def _parse_flush_ms(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_LOG_FLUSH_MS
    try:
        value = int(raw)
    except ValueError:
        raise TelemetryConfigError(f"ISLAND_LOG_FLUSH_MS: {raw!r} is not a whole number of milliseconds") from None
    if not 0 <= value <= MAX_LOG_FLUSH_MS:
        raise TelemetryConfigError(f"ISLAND_LOG_FLUSH_MS: {value} is not between 0 and {MAX_LOG_FLUSH_MS}")
    return value


def _parse_ratio(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return DEFAULT_SAMPLER_RATIO
    try:
        ratio = float(raw)
    except ValueError:
        raise TelemetryConfigError(f"OTEL_TRACES_SAMPLER_ARG: {raw!r} is not a number") from None
    if not 0.0 <= ratio <= 1.0:
        raise TelemetryConfigError(f"OTEL_TRACES_SAMPLER_ARG: {ratio} is not between 0 and 1")
    return ratio


def _parse_paths(raw: str | None) -> frozenset[str]:
    if raw is None:
        return frozenset(DEFAULT_EXCLUDED_PATHS)
    paths = {p.strip() for p in raw.split(",") if p.strip()}
    bad = [p for p in paths if not p.startswith("/")]
    if bad:
        raise TelemetryConfigError(f"ISLAND_TELEMETRY_EXCLUDED_PATHS: {bad[0]!r} does not start with '/'")
    return frozenset(paths)
