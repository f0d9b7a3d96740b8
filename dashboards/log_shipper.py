"""Island Rides / Log shipper: what the agent's shipper delivers to Elasticsearch, and what it owes.

Metrics: ``exporters/elasticsearch/metrics.py`` (``island_shipper_*``). Every line read ends as
``acknowledged``, ``duplicate`` (409, indexed before) or ``dead_lettered``; ``retried`` counts retries.
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

UID = "island-rides-shipper"
EVENTS = "island_shipper_events_total"


def summary_row() -> list[PanelBuilder]:
    """Is it delivering, how far behind is it, is it dropping anything."""
    return [
        stat("Last acknowledgement age", "Seconds since Elasticsearch last acknowledged a bulk request. Only "
             "a problem while there is lag (alert: > 5 minutes with unshipped bytes).", "s",
             [query(f"time() - max(island_shipper_last_ack_timestamp_seconds{{{SELECTOR}}})", "age")],
             steps=[(60, "orange"), (300, "red")]).span(6).height(4),
        stat("Lag", "Bytes of the followed log files not yet acknowledged by Elasticsearch.", "bytes",
             [query(f"sum(island_shipper_lag_bytes{{{SELECTOR}}}) or vector(0)", "lag")],
             steps=[(1024 * 1024, "orange"), (10 * 1024 * 1024, "red")]).span(6).height(4),
        stat("Backoff", "Current retry backoff; 0 while delivering normally.", "s",
             [query(f"max(island_shipper_backoff_seconds{{{SELECTOR}}})", "backoff")],
             steps=[(1, "orange"), (30, "red")]).span(6).height(4),
        stat("Dead letters (time range)", "Log lines Elasticsearch refused for good over the selected time "
             "range, written to the dead-letter file.", "short",
             [query(f'sum(increase({EVENTS}{{{SELECTOR}, outcome="dead_lettered"}}[$__range])) or vector(0)',
                    "dead letters", instant=True)], steps=[(1, "red")]).span(6).height(4),
    ]


def flow_row() -> list[PanelBuilder]:
    """Lines and bytes through the pipeline, and the bulk requests carrying them."""
    return [
        timeseries("Events by outcome", "Log lines per second by outcome: acknowledged, duplicate (409), "
                   "dead_lettered, and retried (item retries, not final).", "ops",
                   [query(f"sum by (outcome) (rate({EVENTS}{{{SELECTOR}}}[{RATE}]))", "{{outcome}}")])
        .span(12).height(8),
        timeseries("Lag by file", "Bytes of each followed file not yet acknowledged. Alert: > 10 MiB and "
                   "growing for 15 minutes.", "bytes",
                   [query(f"sum by (file) (island_shipper_lag_bytes{{{SELECTOR}}})", "{{file}}")],
                   steps=[(10 * 1024 * 1024, "red")]).span(12).height(8),
        timeseries("Read throughput", "Bytes per second read from the log files.", "Bps",
                   [query(f"sum(rate(island_shipper_read_bytes_total{{{SELECTOR}}}[{RATE}]))", "read")])
        .span(8).height(8),
        timeseries("Bulk request duration", "p50 and p95 of bulk request duration.", "s",
                   [query(f"histogram_quantile(0.5, sum by (le) (rate("
                          f"island_shipper_bulk_request_duration_seconds_bucket{{{SELECTOR}}}[{RATE}])))", "p50"),
                    query(f"histogram_quantile(0.95, sum by (le) (rate("
                          f"island_shipper_bulk_request_duration_seconds_bucket{{{SELECTOR}}}[{RATE}])))", "p95")],
                   steps=[(1, "orange"), (5, "red")]).span(8).height(8),
        second_unit(timeseries(
            "Backoff and requests in flight", "Current retry backoff, and bulk requests being sent or retried "
            "(right axis).", "s",
            [query(f"max(island_shipper_backoff_seconds{{{SELECTOR}}})", "backoff"),
             query(f"sum(island_shipper_requests_in_flight{{{SELECTOR}}})", "in flight")]), "B", "short")
        .span(8).height(8),
    ]


def build() -> dash_m.Dashboard:
    """The log shipper dashboard model."""
    board = dashboard(UID, "Island Rides / Log shipper",
                      "The agent's log shipper: delivery by outcome, lag, backoff, acknowledgements and dead "
                      "letters. Runbook: dashboards/RUNBOOK.md.", ["agent", "logs"],
                      job_metric="island_shipper_events_total")
    return assemble(board, [("Delivery", summary_row()), ("Pipeline", flow_row())])
