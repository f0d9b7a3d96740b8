"""The metric names the project's code emits, read from its prometheus_client objects (no scrape needed).

A counter ``x`` is exposed as ``x_total`` (and ``x_created``), a histogram as ``x_bucket``/``x_count``/
``x_sum``; gauges as themselves. Probe metrics come from a ``ProbeMetrics`` fed one snapshot of each kind.
"""
from __future__ import annotations

import importlib

from prometheus_client import REGISTRY
from prometheus_client.registry import CollectorRegistry

SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def _names(registry: CollectorRegistry) -> set[str]:
    names = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def emitted_metric_names() -> set[str]:
    """Every series name the API, the agent and the shipper can expose."""
    # Importing these modules registers the API's and the shipper's metrics in the default registry.
    importlib.import_module("exporters.metrics")
    importlib.import_module("exporters.elasticsearch.metrics")
    from exporters.probe_metrics import ProbeMetrics, ProbeSnapshot

    snapshot = ProbeSnapshot(check="c", type="tls", state="pass", critical=True, duration_s=0.1,
                             last_run_at=1.0, tls_not_after=2.0)
    probes = ProbeMetrics(lambda: [snapshot])
    return _names(REGISTRY) | _names(probes.registry)
