"""The log shipper's Prometheus metrics, one module-level object each (default registry).

Outcomes of ``island_shipper_events_total``: ``acknowledged`` (indexed now), ``duplicate`` (409: indexed
before, e.g. replayed after a crash — acknowledged too), ``dead_lettered`` (refused for good, written to
the dead-letter file). Every line read ends in exactly one of these three. ``retried`` counts item
retries (429, 5xx, connection errors): one line can be retried many times before its final outcome.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTCOMES = ("acknowledged", "duplicate", "retried", "dead_lettered")

EVENTS = Counter("island_shipper_events", "Log lines by delivery outcome", ["outcome"])
for _outcome in OUTCOMES:
    EVENTS.labels(_outcome)

READ_BYTES = Counter("island_shipper_read_bytes", "Bytes read from log files")
LAG_BYTES = Gauge("island_shipper_lag_bytes",
                  "Bytes of a log file not yet acknowledged by Elasticsearch", ["file"])
REQUESTS_IN_FLIGHT = Gauge("island_shipper_requests_in_flight", "Bulk requests being sent or retried")
LAST_ACK = Gauge("island_shipper_last_ack_timestamp_seconds",
                 "Unix time of the last bulk request Elasticsearch acknowledged")
BACKOFF = Gauge("island_shipper_backoff_seconds", "Current retry backoff (0 when delivering normally)")
BULK_DURATION = Histogram("island_shipper_bulk_request_duration_seconds", "Duration of one bulk request",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))


def count_events(outcome: str, n: int) -> None:
    """Add ``n`` lines with final or retry ``outcome`` (one of ``OUTCOMES``)."""
    if n:
        EVENTS.labels(outcome).inc(n)


def set_lag(file: str, lag_bytes: int) -> None:
    """Bytes of ``file`` not yet acknowledged."""
    LAG_BYTES.labels(file).set(lag_bytes)


def forget_file(file: str) -> None:
    """Drop the lag series of a file the shipper no longer follows (rotated away, deleted)."""
    try:
        LAG_BYTES.remove(file)
    except KeyError:
        pass
