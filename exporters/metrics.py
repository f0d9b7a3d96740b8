"""Every Prometheus metric the API exports, one module-level object each (prometheus_client style).

HTTP server metrics are the OpenTelemetry stable HTTP conventions translated to Prometheus names;
dependency metrics follow the OTel database-client conventions where one exists
(``db_client_operation_duration_seconds``, ``db_client_connection_*``); the application's own counters
carry the ``island_`` prefix. Gauges say how they add up across ``--workers`` (multiprocess_mode).

The six metrics on the hot path (the middleware's three histograms and its active-requests gauge, the
per-statement/per-command ``db_client_operation_duration_seconds`` and the per-cached-read
``island_cache_requests_total``) are built by ``_histogram`` / ``_gauge`` / ``_counter``:
``exporters.fast_metrics``' lock-free ones in a single process, prometheus_client's in
multiprocess mode (mmap files merged at scrape time), chosen once, at import. Everything else is
prometheus_client's.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from prometheus_client import Counter, Gauge, Histogram

from exporters import exposition
from exporters.fast_metrics import FastCounter, FastGauge, FastHistogram

_SINGLE_PROCESS = exposition.multiprocess_dir() is None
_LiveMode = Literal["livesum", "livemax", "livemin", "liveall", "livemostrecent"]

# OpenTelemetry's advisory buckets for http.server.request.duration.
HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
BODY_SIZE_BUCKETS = (0, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
DB_DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_LABELS = ("http_request_method", "http_route", "http_response_status_code")


def _histogram(name: str, documentation: str, labelnames: Sequence[str],
               buckets: Sequence[float]) -> Histogram | FastHistogram:
    if _SINGLE_PROCESS:
        return FastHistogram(name, documentation, labelnames, buckets)
    return Histogram(name, documentation, labelnames, buckets=buckets)


def _gauge(name: str, documentation: str, labelnames: Sequence[str], multiprocess_mode: _LiveMode) -> Gauge | FastGauge:
    if _SINGLE_PROCESS:
        return FastGauge(name, documentation, labelnames)
    return Gauge(name, documentation, labelnames, multiprocess_mode=multiprocess_mode)


def _counter(name: str, documentation: str, labelnames: Sequence[str]) -> Counter | FastCounter:
    if _SINGLE_PROCESS:
        return FastCounter(name, documentation, labelnames)
    return Counter(name, documentation, labelnames)


# --- HTTP server (the telemetry middleware) ---------------------------------------------------------------
http_server_request_duration = _histogram(
    "http_server_request_duration_seconds", "Duration of HTTP server requests.",
    HTTP_LABELS, HTTP_DURATION_BUCKETS)
http_server_request_body_size = _histogram(
    "http_server_request_body_size_bytes", "Size of HTTP server request bodies.",
    HTTP_LABELS, BODY_SIZE_BUCKETS)
http_server_response_body_size = _histogram(
    "http_server_response_body_size_bytes", "Size of HTTP server response bodies.",
    HTTP_LABELS, BODY_SIZE_BUCKETS)
http_server_active_requests = _gauge(
    "http_server_active_requests", "Number of active HTTP server requests.",
    ("http_request_method",), "livesum")

# --- database and Redis (exporters.psycopg_metrics, exporters.redis_tracing) ---------------------------------
db_client_operation_duration = _histogram(
    "db_client_operation_duration_seconds", "Duration of database client operations (SQL statements, "
    "Redis commands) by low-cardinality operation and collection.",
    ("db_system_name", "db_operation_name", "db_collection_name", "outcome"), DB_DURATION_BUCKETS)
db_client_connection_usage = Gauge(
    "db_client_connection_usage", "Connections in the database pool by state (idle or used).",
    ("db_client_connection_pool_name", "db_client_connection_state"), multiprocess_mode="livesum")
db_client_connection_max = Gauge(
    "db_client_connection_max", "Maximum connections the database pool allows.",
    ("db_client_connection_pool_name",), multiprocess_mode="livesum")
db_client_connection_pending_requests = Gauge(
    "db_client_connection_pending_requests", "Requests waiting for a connection from the database pool.",
    ("db_client_connection_pool_name",), multiprocess_mode="livesum")
db_client_connection_wait_time = Counter(
    "db_client_connection_wait_time_seconds", "Total time spent waiting for a database pool connection.",
    ("db_client_connection_pool_name",))
db_client_connection_requests = Counter(
    "db_client_connection_requests", "Connections requested from the database pool.",
    ("db_client_connection_pool_name",))
db_client_connection_timeouts = Counter(
    "db_client_connection_timeouts", "Database pool requests that failed (timed out or errored).",
    ("db_client_connection_pool_name",))

# --- application measurement points (exporters.instruments) ------------------------------------------------
cache_requests = _counter(
    "island_cache_requests", "Cache-aside reads by cache and result (hit or miss).", ("cache", "result"))
redis_errors = Counter(
    "island_redis_errors", "Redis commands that failed (the API carried on without it).", ("operation",))
rate_limited_requests = Counter(
    "island_rate_limited_requests", "Requests refused with 429 by the rate limiter, by tier.", ("tier",))
outgoing_call_duration = Histogram(
    "island_outgoing_call_duration_seconds", "Duration of calls to external services (payment provider, SMTP) "
    "by peer, operation and outcome.", ("peer", "operation", "outcome"), buckets=HTTP_DURATION_BUCKETS)
email_sends = Counter(
    "island_email_sends", "Outbox delivery attempts by outcome (sent, retry, failed).", ("outcome",))
email_outbox_depth = Gauge(
    "island_email_outbox_depth", "E-mails waiting in the outbox.", multiprocess_mode="livemax")
websocket_connections = Gauge(
    "island_websocket_connections", "Open chat WebSocket connections.", multiprocess_mode="livesum")
websocket_messages = Counter(
    "island_websocket_messages", "Chat WebSocket messages by direction (in or out).", ("direction",))
booking_transitions = Counter(
    "island_booking_transitions", "Booking status transitions (from 'new' when created).",
    ("from_status", "to_status"))
payments = Counter("island_payments", "Payments by outcome (succeeded, failed, refunded).", ("outcome",))
booked_revenue = Counter("island_booked_revenue_cents", "Revenue booked by confirmed bookings, in cents.")
