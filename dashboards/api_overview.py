"""Island Rides / API overview: RED metrics by route, the SLOs, dependencies seen from the API, business.

Metrics: ``exporters/metrics.py`` (HTTP server, database pool and queries, cache, rate limits, outgoing
calls, e-mail, WebSocket, bookings, payments). The SLO row reads the recording rules of
``dashboards/rules/island-rides.rules.yml`` (they carry ``job`` only, so it ignores ``$instance``).
"""
from __future__ import annotations

from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards.panels import (
    RATE,
    SELECTOR,
    PanelBuilder,
    assemble,
    dashboard,
    query,
    second_unit,
    stat,
    timeseries,
)

UID = "island-rides-api"
HTTP = "http_server_request_duration_seconds"
ERRORS = 'http_response_status_code=~"5.."'


def _ratio_by(by: str, numerator_filter: str, metric: str) -> str:
    """``errors / all`` by ``by``, 0 (not empty) where nothing matched ``numerator_filter``."""
    part = f"sum by ({by}) (rate({metric}{{{SELECTOR}, {numerator_filter}}}[{RATE}]))"
    total = f"sum by ({by}) (rate({metric}{{{SELECTOR}}}[{RATE}]))"
    return f"({part} or 0 * {total}) / {total}"


def _quantile(q: float, metric: str, by: str, extra: str = "") -> str:
    selector = f"{SELECTOR}, {extra}" if extra else SELECTOR
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{selector}}}[{RATE}])))"


def headline_row() -> list[PanelBuilder]:
    """Four numbers an on-call engineer reads first."""
    return [
        stat("Request rate", "Requests per second answered by the API (health and metrics endpoints excluded).",
             "reqps", [query(f"sum(rate({HTTP}_count{{{SELECTOR}}}[{RATE}]))", "requests/s")]).span(6).height(4),
        stat("Error ratio (5xx)", "Share of requests answered with a 5xx status. SLO: 99.9 % not 5xx.",
             "percentunit",
             [query(f"(sum(rate({HTTP}_count{{{SELECTOR}, {ERRORS}}}[{RATE}])) or vector(0))"
                    f" / sum(rate({HTTP}_count{{{SELECTOR}}}[{RATE}]))", "5xx ratio")],
             steps=[(0.001, "orange"), (0.01, "red")], decimals=2).span(6).height(4),
        stat("p99 latency", "99th percentile of request duration over all routes. SLO: 99 % within 0.5 s.",
             "s", [query(f"histogram_quantile(0.99, sum by (le) (rate({HTTP}_bucket{{{SELECTOR}}}[{RATE}])))",
                         "p99")], steps=[(0.25, "orange"), (0.5, "red")]).span(6).height(4),
        stat("Active requests", "Requests being processed right now.", "short",
             [query(f"sum(http_server_active_requests{{{SELECTOR}}})", "active")],
             steps=[(50, "orange"), (200, "red")]).span(6).height(4),
    ]


def red_row() -> list[PanelBuilder]:
    """Rate, errors and duration by route."""
    return [
        timeseries("Request rate by route", "Requests per second by route template.", "reqps",
                   [query(f"sum by (http_route) (rate({HTTP}_count{{{SELECTOR}}}[{RATE}]))", "{{http_route}}")],
                   stacked=True).span(12).height(8),
        timeseries("Requests by status code", "Requests per second by HTTP status code.", "reqps",
                   [query(f"sum by (http_response_status_code) (rate({HTTP}_count{{{SELECTOR}}}[{RATE}]))",
                          "{{http_response_status_code}}")], stacked=True).span(12).height(8),
        timeseries("Error ratio (5xx) by route", "Share of each route's requests answered 5xx.", "percentunit",
                   [query(_ratio_by("http_route", ERRORS, f"{HTTP}_count"), "{{http_route}}")],
                   steps=[(0.001, "orange"), (0.01, "red")]).span(12).height(8),
        timeseries("Latency by route (p50 / p95 / p99)", "Request duration quantiles by route, from the "
                   "histogram (buckets 5 ms ... 10 s).", "s",
                   [query(_quantile(0.5, HTTP, "http_route"), "{{http_route}} p50"),
                    query(_quantile(0.95, HTTP, "http_route"), "{{http_route}} p95"),
                    # The API attaches trace ids as exemplars (OpenMetrics): Grafana links the dots to traces.
                    query(_quantile(0.99, HTTP, "http_route"), "{{http_route}} p99").exemplar(True)],
                   steps=[(0.5, "red")]).span(12).height(8),
    ]


def slo_row() -> list[PanelBuilder]:
    """The two SLOs as the burn-rate alerts see them (recording rules)."""
    job = 'job=~"$job"'
    windows = ("5m", "1h", "6h", "3d")
    return [
        timeseries("Availability SLO: 5xx ratio by window", "job:http_server_request_errors:ratio_rate<window>;"
                   " the budget is 0.1 %. Pages when 1h and 5m exceed 14.4x budget (1.44 %).", "percentunit",
                   [query(f"job:http_server_request_errors:ratio_rate{w}{{{job}}}", f"{{{{job}}}} {w}")
                    for w in windows], steps=[(0.001, "orange"), (0.0144, "red")]).span(12).height(7),
        timeseries("Latency SLO: share slower than 0.5 s by window", "job:http_server_request_slow:ratio_rate"
                   "<window>; the budget is 1 %. Pages when 1h and 5m exceed 14.4x budget (14.4 %).",
                   "percentunit",
                   [query(f"job:http_server_request_slow:ratio_rate{w}{{{job}}}", f"{{{{job}}}} {w}")
                    for w in windows], steps=[(0.01, "orange"), (0.144, "red")]).span(12).height(7),
    ]


def datastore_row() -> list[PanelBuilder]:
    """The database pool, queries, the cache and Redis, from the API's side."""
    pool = "db_client_connection"
    return [
        timeseries("DB pool connections", "Connections of the pool by state, its maximum, and requests "
                   "waiting for one (waiting > 0 means the pool is too small or queries too slow).", "short",
                   [query(f"sum by (db_client_connection_state) ({pool}_usage{{{SELECTOR}}})",
                          "{{db_client_connection_state}}"),
                    query(f"sum({pool}_max{{{SELECTOR}}})", "max"),
                    query(f"sum({pool}_pending_requests{{{SELECTOR}}})", "waiting")]).span(8).height(8),
        second_unit(timeseries(
            "DB pool wait per request", "Average time a request waited for a pool connection, and pool "
            "requests that timed out or failed per second (right axis).", "s",
            [query(f"sum(rate({pool}_wait_time_seconds_total{{{SELECTOR}}}[{RATE}]))"
                   f" / sum(rate({pool}_requests_total{{{SELECTOR}}}[{RATE}]))", "avg wait"),
             query(f"sum(rate({pool}_timeouts_total{{{SELECTOR}}}[{RATE}])) or vector(0)", "timeouts/s")],
            steps=[(0.01, "orange"), (0.1, "red")]), "B", "ops").span(8).height(8),
        timeseries("DB query p95 by operation", "95th percentile of SQL statement duration by operation and "
                   "table (db_client_operation_duration_seconds, postgresql).", "s",
                   [query(_quantile(0.95, "db_client_operation_duration_seconds",
                                    "db_operation_name, db_collection_name", 'db_system_name="postgresql"'),
                          "{{db_operation_name}} {{db_collection_name}}")],
                   steps=[(0.1, "orange"), (0.5, "red")]).span(8).height(8),
        timeseries("Cache hit ratio", "Cache-aside reads answered from Redis, by cache.", "percentunit",
                   [query(_ratio_by("cache", 'result="hit"', "island_cache_requests_total"), "{{cache}}")],
                   minimum=0).max(1).span(8).height(8),
        timeseries("Redis command p95", "95th percentile of Redis command duration by operation.", "s",
                   [query(_quantile(0.95, "db_client_operation_duration_seconds", "db_operation_name",
                                    'db_system_name="redis"'), "{{db_operation_name}}")],
                   steps=[(0.01, "orange"), (0.1, "red")]).span(8).height(8),
        timeseries("Redis errors", "Redis commands that failed, per second (the API carries on without the "
                   "cache or limiter).", "ops",
                   [query(f"sum by (operation) (rate(island_redis_errors_total{{{SELECTOR}}}[{RATE}]))",
                          "{{operation}}")], steps=[(0.1, "red")]).span(8).height(8),
    ]


def edge_row() -> list[PanelBuilder]:
    """Rate limiting, calls to the payment provider and SMTP, e-mail and WebSockets."""
    out = "island_outgoing_call_duration_seconds"
    return [
        timeseries("Rate-limit rejections", "Requests refused with 429 by tier, per second.", "reqps",
                   [query(f"sum by (tier) (rate(island_rate_limited_requests_total{{{SELECTOR}}}[{RATE}]))",
                          "{{tier}}")]).span(8).height(8),
        timeseries("Outgoing calls (Stripe, SMTP)", "Calls to external services per second by peer, "
                   "operation and outcome.", "ops",
                   [query(f"sum by (peer, operation, outcome) (rate({out}_count{{{SELECTOR}}}[{RATE}]))",
                          "{{peer}} {{operation}} {{outcome}}")]).span(8).height(8),
        timeseries("Outgoing call p95", "95th percentile of external call duration by peer and operation.",
                   "s", [query(_quantile(0.95, out, "peer, operation"), "{{peer}} {{operation}}")],
                   steps=[(1, "orange"), (5, "red")]).span(8).height(8),
        timeseries("E-mail sends by outcome", "Outbox delivery attempts per second: sent, retry, failed.",
                   "ops", [query(f"sum by (outcome) (rate(island_email_sends_total{{{SELECTOR}}}[{RATE}]))",
                                 "{{outcome}}")], stacked=True).span(8).height(8),
        timeseries("E-mail outbox depth", "E-mails waiting to be sent. Alert: > 100 for 15 minutes.", "short",
                   [query(f"max(island_email_outbox_depth{{{SELECTOR}}})", "waiting")],
                   steps=[(50, "orange"), (100, "red")]).span(8).height(8),
        second_unit(timeseries(
            "WebSocket connections and messages", "Open chat WebSockets, and chat messages per second by "
            "direction (right axis).", "short",
            [query(f"sum(island_websocket_connections{{{SELECTOR}}})", "open connections"),
             query(f"sum by (direction) (rate(island_websocket_messages_total{{{SELECTOR}}}[{RATE}]))",
                   "messages {{direction}}/s")]), "B", "ops").span(8).height(8),
    ]


def business_row() -> list[PanelBuilder]:
    """Bookings, payments and revenue."""
    return [
        timeseries("Booking transitions (per hour)", "Booking status changes by from -> to status, as an "
                   "hourly rate ('new' -> pending is a created booking).", "short",
                   [query(f"sum by (from_status, to_status) (rate(island_booking_transitions_total{{{SELECTOR}}}"
                          f"[{RATE}])) * 3600", "{{from_status}} -> {{to_status}}")]).span(9).height(8),
        timeseries("Payments by outcome (per hour)", "Payments succeeded, failed (declined) and refunded, as "
                   "an hourly rate.", "short",
                   [query(f"sum by (outcome) (rate(island_payments_total{{{SELECTOR}}}[{RATE}])) * 3600",
                          "{{outcome}}")]).span(9).height(8),
        stat("Revenue booked (time range)", "Sum of confirmed bookings' totals over the selected time range.",
             "currencyUSD", [query(f"sum(increase(island_booked_revenue_cents_total{{{SELECTOR}}}[$__range]))"
                                   " / 100", "revenue", instant=True)], base="blue", decimals=2).span(6).height(8),
    ]


def build() -> dash_m.Dashboard:
    """The API overview dashboard model."""
    board = dashboard(UID, "Island Rides / API overview",
                      "RED metrics by route, the availability and latency SLOs, the API's dependencies and the "
                      "business counters. Runbook: dashboards/RUNBOOK.md.", ["api"],
                      job_metric=f"{HTTP}_count")
    rows = [("Overview", headline_row()), ("Requests by route", red_row()), ("SLOs", slo_row()),
            ("Database and cache", datastore_row()), ("Edge and external services", edge_row()),
            ("Bookings and payments", business_row())]
    return assemble(board, rows)
