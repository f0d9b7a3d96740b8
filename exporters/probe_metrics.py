"""Prometheus metrics for scheduled health probes, named like blackbox_exporter's.

The agent owns the health state; this module only turns it into metrics. Two kinds of input:

- events, pushed as they happen: ``observe_run`` (one finished check run: the duration histogram and the run
  counter) and ``count_transition`` (a check's reported state changed);
- a snapshot, pulled at scrape time through the ``snapshot`` callable the agent hands in: the current view
  of every check (after flap thresholds and the stale rule), exported as gauges. Pulling means a scrape
  always sees the same verdict as ``/health``, including "stale" when the scheduler has stopped.

Each ``ProbeMetrics`` has its own ``CollectorRegistry``, so several agents (tests) can live in one process.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATES = ("pass", "warn", "fail", "unknown")
# Checks time out after a few seconds at most; the buckets resolve the fast end (local datastores) finely.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class ProbeSnapshot:
    """The current view of one check, as the agent reports it."""

    check: str
    type: str
    state: str  # pass | warn | fail | unknown (no result yet)
    critical: bool
    duration_s: float | None  # of the last run; None before the first one
    last_run_at: float | None  # Unix seconds
    tls_not_after: float | None  # earliest certificate expiry, Unix seconds
    # (phase, seconds) of the last run of a check that times its phases (HTTP: resolve, connect, tls,
    # processing, transfer), also of a failed run up to where it failed; empty for the others
    phases: tuple[tuple[str, float], ...] = ()


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Callable[[], Iterable[ProbeSnapshot]]) -> None:
        self._snapshot = snapshot

    def describe(self) -> Iterator[Metric]:
        # Names only, so registering does not call the snapshot before its owner is fully built.
        return self._families([])

    def collect(self) -> Iterator[Metric]:
        return self._families(self._snapshot())

    def _families(self, snapshots: Iterable[ProbeSnapshot]) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "probe_success", "Whether the check currently passes (1) or not (0), after thresholds and staleness.",
            labels=["check", "type"])
        duration = GaugeMetricFamily(
            "probe_duration_seconds", "How long the last run of the check took.", labels=["check", "type"])
        expiry = GaugeMetricFamily(
            "probe_ssl_earliest_cert_expiry", "Earliest TLS certificate expiry seen by the check, Unix seconds.",
            labels=["check"])
        state = GaugeMetricFamily(
            "agent_check_state", "The check's reported state: 1 for the current one of pass|warn|fail|unknown.",
            labels=["check", "type", "state"])
        critical = GaugeMetricFamily(
            "agent_check_critical", "1 when a failure of the check fails the overall health (503).",
            labels=["check"])
        last_run = GaugeMetricFamily(
            "agent_check_last_run_timestamp_seconds", "When the check's last run finished, Unix seconds.",
            labels=["check"])
        phases = GaugeMetricFamily(
            "probe_http_duration_seconds", "Duration of each phase of the check's last HTTP run (resolve, "
            "connect, tls, processing, transfer), summed over redirects.", labels=["check", "phase"])
        for snap in snapshots:
            success.add_metric([snap.check, snap.type], 1.0 if snap.state in ("pass", "warn") else 0.0)
            for name in STATES:
                state.add_metric([snap.check, snap.type, name], 1.0 if snap.state == name else 0.0)
            critical.add_metric([snap.check], 1.0 if snap.critical else 0.0)
            if snap.duration_s is not None:
                duration.add_metric([snap.check, snap.type], snap.duration_s)
            if snap.last_run_at is not None:
                last_run.add_metric([snap.check], snap.last_run_at)
            if snap.tls_not_after is not None:
                expiry.add_metric([snap.check], snap.tls_not_after)
            for phase, seconds in snap.phases:
                phases.add_metric([snap.check, phase], seconds)
        yield from (success, duration, expiry, state, critical, last_run, phases)


class ProbeMetrics:
    """The probe metrics of one agent: event metrics plus a scrape-time view of its state."""

    def __init__(self, snapshot: Callable[[], Iterable[ProbeSnapshot]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._runs = Counter(
            "agent_check_runs", "Finished check runs, by the raw result of the run (before thresholds).",
            ["check", "type", "result"], registry=self.registry)
        self._durations = Histogram(
            "agent_check_duration_seconds", "Duration of check runs.", ["check", "type"],
            buckets=DURATION_BUCKETS, registry=self.registry)
        self._transitions = Counter(
            "agent_check_transitions", "Changes of a check's reported state, by the state it moved to.",
            ["check", "to"], registry=self.registry)
        self._ticks = Counter(
            "agent_scheduler_heartbeats", "Heartbeat jobs run by the agent's scheduler.", registry=self.registry)
        self.registry.register(_SnapshotCollector(snapshot))

    def observe_run(self, check: str, type_: str, result: str, duration_s: float) -> None:
        """Record one finished run of ``check`` with raw ``result`` pass|warn|fail."""
        self._runs.labels(check, type_, result).inc()
        self._durations.labels(check, type_).observe(duration_s)

    def count_transition(self, check: str, to: str) -> None:
        """Record that ``check``'s reported state changed to ``to``."""
        self._transitions.labels(check, to).inc()

    def heartbeat(self) -> None:
        """Record one tick of the scheduler's heartbeat job."""
        self._ticks.inc()

    def render(self) -> bytes:
        """The text exposition format of every metric of this agent."""
        return generate_latest(self.registry)
