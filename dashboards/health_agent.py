"""Island Rides / Health agent: every dependency check's state, durations, TLS expiry and transitions.

Metrics: ``exporters/probe_metrics.py`` (blackbox_exporter's ``probe_success``, ``probe_duration_seconds``,
``probe_ssl_earliest_cert_expiry``, ``probe_http_duration_seconds``, each with a ``check`` label, plus
``agent_check_*`` and the scheduler's heartbeat) and Prometheus' own ``up`` for the agent's scrape target.
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
    stat,
    state_timeline,
    timeseries,
)

UID = "island-rides-agent"
CRITICAL = "agent_check_critical"


def summary_row() -> list[PanelBuilder]:
    """Is the agent up, and how many checks fail."""
    failing = f"probe_success{{{SELECTOR}}} == 0"
    return [
        stat("Agent up", "Whether Prometheus can scrape the agent (1) or not (0).", "short",
             [query(f"min(up{{{SELECTOR}}})", "up")], base="red", steps=[(1, "green")]).span(6).height(4),
        stat("Failing checks", "Checks currently reporting fail (after failure thresholds and the stale rule).",
             "short", [query(f"count({failing}) or vector(0)", "failing")],
             steps=[(1, "orange")]).span(6).height(4),
        stat("Failing critical checks", "Failing checks marked critical: /health and /readyz answer 503 while "
             "this is above 0.", "short",
             [query(f"count(({failing}) and on (job, instance, check) {CRITICAL}{{{SELECTOR}}} == 1) or vector(0)",
                    "failing critical")], steps=[(1, "red")]).span(6).height(4),
        stat("Scheduler heartbeats", "Scheduler ticks per second; 0 means the scheduler stalled and every check "
             "turns stale.", "hertz", [query(f"sum(rate(agent_scheduler_heartbeats_total{{{SELECTOR}}}[{RATE}]))",
                                             "ticks/s")], base="red", steps=[(0.1, "green")]).span(6).height(4),
    ]


def state_row() -> list[PanelBuilder]:
    """probe_success per check as a blackbox-style timeline, and the pass/warn/fail/unknown state."""
    state = "agent_check_state"
    reported = (f'sum by (check) ({state}{{{SELECTOR}, state="warn"}}'
                f' or {state}{{{SELECTOR}, state="fail"}} * 2'
                f' or {state}{{{SELECTOR}, state="unknown"}} * 3)')
    return [
        state_timeline("probe_success by check", "1 while the check passes (or warns), 0 while it fails.",
                       [query(f"max by (check) (probe_success{{{SELECTOR}}})", "{{check}}")],
                       {"1": ("up", "green"), "0": ("down", "red")}).span(12).height(9),
        state_timeline("Reported state by check", "pass, warn, fail or unknown (no result yet), as /health "
                       "reports it.", [query(reported, "{{check}}")],
                       {"0": ("pass", "green"), "1": ("warn", "yellow"), "2": ("fail", "red"),
                        "3": ("unknown", "gray")}).span(12).height(9),
    ]


def timing_row() -> list[PanelBuilder]:
    """How long checks take, how often they run, and how old their results are."""
    return [
        timeseries("Probe duration by check", "Duration of each check's last run (probe_duration_seconds).",
                   "s", [query(f"max by (check) (probe_duration_seconds{{{SELECTOR}}})", "{{check}}")],
                   steps=[(1, "orange"), (2, "red")]).span(8).height(8),
        timeseries("Check run duration p95", "95th percentile of run duration by check "
                   "(agent_check_duration_seconds).", "s",
                   [query(f"histogram_quantile(0.95, sum by (check, le) "
                          f"(rate(agent_check_duration_seconds_bucket{{{SELECTOR}}}[{RATE}])))", "{{check}}")],
                   steps=[(1, "orange"), (2, "red")]).span(8).height(8),
        timeseries("Runs by raw result", "Finished runs per second by their raw result, before thresholds: "
                   "fail runs under a passing state are flaps the thresholds absorbed.", "ops",
                   [query(f"sum by (result) (rate(agent_check_runs_total{{{SELECTOR}}}[{RATE}]))", "{{result}}")],
                   stacked=True).span(8).height(8),
        timeseries("Result age by check", "Seconds since each check's last run finished; a result older than "
                   "3 intervals counts as stale (fail).", "s",
                   [query(f"time() - max by (check) (agent_check_last_run_timestamp_seconds{{{SELECTOR}}})",
                          "{{check}}")], steps=[(60, "orange"), (120, "red")]).span(12).height(8),
        timeseries("State transitions", "Changes of reported state by check and the state moved to.", "short",
                   [query(f"sum by (check, to) (increase(agent_check_transitions_total{{{SELECTOR}}}[{RATE}]))",
                          "{{check}} -> {{to}}")], bars=True).span(12).height(8),
        timeseries("HTTP check phases", "Where each HTTP check's last run spent its time, one line per check "
                   "and phase: resolve, connect, tls, processing (the server's answer), transfer "
                   "(probe_http_duration_seconds; a failed run shows the phases it got through).", "s",
                   [query(f"max by (check, phase) (probe_http_duration_seconds{{{SELECTOR}}})",
                          "{{check}} {{phase}}")]).span(24).height(8),
    ]


def tls_row() -> list[PanelBuilder]:
    """Days until the earliest certificate each TLS-speaking check saw expires."""
    return [
        timeseries("TLS certificate days left", "Days until the earliest certificate seen by each check "
                   "expires. Alerts: < 14 days warning, < 3 days critical.", "d",
                   [query(f"min by (check) ((probe_ssl_earliest_cert_expiry{{{SELECTOR}}} - time()) / 86400)",
                          "{{check}}")], minimum=None, base="red", steps=[(3, "orange"), (14, "green")])
        .span(24).height(7),
    ]


def build() -> dash_m.Dashboard:
    """The health agent dashboard model."""
    board = dashboard(UID, "Island Rides / Health agent",
                      "The sidecar's dependency checks: state per check, durations, TLS expiry, transitions. "
                      "Runbook: dashboards/RUNBOOK.md.", ["agent", "health"], job_metric="probe_success")
    return assemble(board, [("Summary", summary_row()), ("Check state", state_row()),
                            ("Timings and transitions", timing_row()), ("TLS", tls_row())])
