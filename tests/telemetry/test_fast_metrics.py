"""exporters.fast_metrics: the lock-free histogram and gauge render exactly as prometheus_client's own
(text and OpenMetrics, exemplars included, ``_created`` aside), place values in the right buckets, reject
wrong labels, and are only used in a single process."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from exporters.fast_metrics import FastCounter, FastGauge, FastHistogram, observe_three
from exporters.metrics import BODY_SIZE_BUCKETS, HTTP_DURATION_BUCKETS, HTTP_LABELS

NAME = "http_server_request_duration_seconds"
GET = ("GET", "/v1/vehicles/{vehicle_id}", "200")
TRACE = {"trace_id": "5b8aa5a2d2c872e8321cf37308d69df2"}
REPO = Path(__file__).resolve().parents[2]


def _fast(buckets=HTTP_DURATION_BUCKETS, name=NAME) -> tuple[FastHistogram, CollectorRegistry]:
    registry = CollectorRegistry()
    return FastHistogram(name, "Duration of HTTP server requests.", HTTP_LABELS, buckets, registry=registry), registry


def _theirs(buckets=HTTP_DURATION_BUCKETS, name=NAME) -> tuple[Histogram, CollectorRegistry]:
    registry = CollectorRegistry()
    return Histogram(name, "Duration of HTTP server requests.", HTTP_LABELS, buckets=buckets,
                     registry=registry), registry


def _bucket(registry: CollectorRegistry, le: str, labels=GET, name=NAME) -> float | None:
    return registry.get_sample_value(f"{name}_bucket", {**dict(zip(HTTP_LABELS, labels)), "le": le})


def _without_created(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "_created" not in line)


def test_le_is_inclusive_at_every_boundary():
    histogram, registry = _fast()
    child = histogram.labels(*GET)
    child.observe(0.005)        # exactly on the first bound
    child.observe(0.0050001)    # just above it
    child.observe(10.0)         # the last finite bound
    child.observe(10.5)         # beyond: +Inf only
    assert _bucket(registry, "0.005") == 1
    assert _bucket(registry, "0.01") == 2
    assert _bucket(registry, "7.5") == 2
    assert _bucket(registry, "10.0") == 3
    assert _bucket(registry, "+Inf") == 4
    labels = dict(zip(HTTP_LABELS, GET))
    assert registry.get_sample_value(f"{NAME}_count", labels) == 4
    assert registry.get_sample_value(f"{NAME}_sum", labels) == pytest.approx(0.005 + 0.0050001 + 10.0 + 10.5)


def test_observe_three_counts_as_three_observes():
    """The middleware's one call for a request's duration and body sizes: the same exposition as three
    ``observe`` calls, each value in its own histogram (bounds included, sizes on the size buckets)."""
    ours = [_fast(buckets, name)[0] for buckets, name in ((HTTP_DURATION_BUCKETS, "d_seconds"),
                                                          (BODY_SIZE_BUCKETS, "rq_bytes"), (BODY_SIZE_BUCKETS, "rs_bytes"))]
    plain = [_fast(buckets, name)[0] for buckets, name in ((HTTP_DURATION_BUCKETS, "d_seconds"),
                                                           (BODY_SIZE_BUCKETS, "rq_bytes"), (BODY_SIZE_BUCKETS, "rs_bytes"))]
    for values in ((0.005, 0, 659), (0.0123, 100, 0), (11.0, 10**9, 10**9), (0.25, 1024, 1024)):
        observe_three(*(part for histogram, value in zip(ours, values) for part in (histogram.labels(*GET), value)))
        for histogram, value in zip(plain, values):
            histogram.labels(*GET).observe(value)
    for mine, theirs in zip(ours, plain):
        assert mine.labels(*GET).snapshot() == theirs.labels(*GET).snapshot()
    # each value in its own histogram: the two size histograms share their bounds, not their counts
    assert ours[1].labels(*GET).snapshot() != ours[2].labels(*GET).snapshot()


def test_zero_lands_in_the_zero_bucket_of_the_size_histogram():
    histogram, registry = _fast(BODY_SIZE_BUCKETS, "http_server_response_body_size_bytes")
    child = histogram.labels(*GET)
    for size in (0, 1, 100, 101, 10_000_000, 10_000_001):
        child.observe(size)
    cumulative = [_bucket(registry, le, name="http_server_response_body_size_bytes")
                  for le in ("0.0", "100.0", "1000.0", "1e+07", "+Inf")]
    assert cumulative == [1, 3, 4, 5, 6]


def test_series_are_cached_per_label_values_and_kept_apart():
    histogram, registry = _fast()
    assert histogram.labels(*GET) is histogram.labels("GET", "/v1/vehicles/{vehicle_id}", 200)
    assert histogram.labels(*GET) is histogram.labels(http_request_method="GET", http_response_status_code="200",
                                                      http_route="/v1/vehicles/{vehicle_id}")
    histogram.labels(*GET).observe(0.02)
    histogram.labels("POST", "/v1/bookings", "201").observe(0.3)
    histogram.labels("POST", "/v1/bookings", "201").observe(0.4)
    assert registry.get_sample_value(f"{NAME}_count", dict(zip(HTTP_LABELS, GET))) == 1
    assert registry.get_sample_value(f"{NAME}_count", dict(zip(HTTP_LABELS, ("POST", "/v1/bookings", "201")))) == 2


def test_text_output_equals_prometheus_client():
    ours, our_registry = _fast()
    theirs, their_registry = _theirs()
    observations = [(GET, v) for v in (0.0, 0.001, 0.005, 0.0123, 0.075, 0.2, 0.75, 3.0, 10.0, 42.0)]
    observations += [(("POST", "/v1/bookings", "201"), v) for v in (0.05, 0.5, 0.5)]
    observations += [(("GET", "unmatched", "404"), 0.003)]
    for labels, value in observations:
        ours.labels(*labels).observe(value)
        theirs.labels(*labels).observe(value)
    ours_text = generate_latest(our_registry).decode()
    assert "_created" not in ours_text
    assert ours_text == _without_created(generate_latest(their_registry).decode()) + "\n"
    assert 'le="+Inf"' in ours_text and f"{NAME}_sum" in ours_text and f"{NAME}_count" in ours_text


def test_openmetrics_output_carries_exemplars_as_prometheus_client_does():
    ours, our_registry = _fast()
    theirs, their_registry = _theirs()
    for histogram in (ours, theirs):
        child = histogram.labels(*GET)
        child.observe(0.02, TRACE)
        child.observe(0.021)                                          # same bucket, no exemplar: kept
        child.observe(0.3, {"trace_id": "0af7651916cd43dd8448eb211c80319c"})
        child.observe(0.31, {"trace_id": "1af7651916cd43dd8448eb211c80319c"})  # replaces it
    ours_text = generate_openmetrics(our_registry).decode()
    assert 'le="0.025"} 2.0 # {trace_id="5b8aa5a2d2c872e8321cf37308d69df2"} 0.02 ' in ours_text, ours_text
    assert 'le="0.5"} 4.0 # {trace_id="1af7651916cd43dd8448eb211c80319c"} 0.31 ' in ours_text
    assert "0af7651916cd43dd8448eb211c80319c" not in ours_text
    timestamp = re.compile(r"(# \{[^}]*\} [\d.e+-]+) [\d.]+$", re.MULTILINE)  # the exemplar's time.time()
    assert timestamp.sub(r"\1 T", ours_text) == \
        timestamp.sub(r"\1 T", _without_created(generate_openmetrics(their_registry).decode()) + "\n")


def test_exemplars_are_checked_like_prometheus_client():
    histogram, _ = _fast()
    child = histogram.labels(*GET)
    with pytest.raises(ValueError):
        child.observe(0.1, {"__reserved": "x"})
    with pytest.raises(ValueError):
        child.observe(0.1, {"trace_id": "x" * 200})


def test_wrong_labels_are_refused_when_the_child_is_made():
    histogram, _ = _fast()
    for bad in (("GET",), ("GET", "/", "200", "extra"), ()):
        with pytest.raises(ValueError, match="Incorrect label count"):
            histogram.labels(*bad)
    with pytest.raises(ValueError, match="Incorrect label names"):
        histogram.labels(http_request_method="GET", http_route="/", status="200")
    with pytest.raises(ValueError):
        histogram.labels("GET", "/", "200", http_route="/")
    with pytest.raises(ValueError):
        histogram.observe(0.1)  # a labelled histogram has no series of its own
    with pytest.raises(ValueError):
        FastHistogram("h_seconds", "h", ["le"], registry=None)
    with pytest.raises(ValueError):
        FastHistogram("", "h", [], registry=None)
    with pytest.raises(ValueError, match="sorted"):
        FastHistogram("h_seconds", "h", [], buckets=(1.0, 0.5), registry=None)


def test_a_second_metric_of_the_same_name_is_refused_by_the_registry():
    _, registry = _fast()
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Histogram(NAME, "again", HTTP_LABELS, registry=registry)


def test_gauge_inc_dec_set_and_its_text_equal_prometheus_client():
    registry, their_registry = CollectorRegistry(), CollectorRegistry()
    ours = FastGauge("http_server_active_requests", "Number of active HTTP server requests.",
                     ("http_request_method",), registry=registry)
    theirs = Gauge("http_server_active_requests", "Number of active HTTP server requests.",
                   ("http_request_method",), registry=their_registry)
    for gauge in (ours, theirs):
        get, post = gauge.labels("GET"), gauge.labels("POST")
        get.inc()
        get.inc()
        get.dec()
        post.inc(5)
        post.dec(2)
        gauge.labels("PUT").set(7)
    assert registry.get_sample_value("http_server_active_requests", {"http_request_method": "GET"}) == 1.0
    assert registry.get_sample_value("http_server_active_requests", {"http_request_method": "POST"}) == 3.0
    assert registry.get_sample_value("http_server_active_requests", {"http_request_method": "PUT"}) == 7.0
    assert generate_latest(registry) == generate_latest(their_registry)
    assert generate_openmetrics(registry) == generate_openmetrics(their_registry)


def test_counter_inc_and_its_text_equal_prometheus_client():
    registry, their_registry = CollectorRegistry(), CollectorRegistry()
    ours = FastCounter("island_cache_requests", "Cache-aside reads.", ("cache", "result"), registry=registry)
    theirs = Counter("island_cache_requests", "Cache-aside reads.", ("cache", "result"), registry=their_registry)
    for counter in (ours, theirs):
        hit = counter.labels("vehicle", "hit")
        hit.inc()
        hit.inc(2.5)
        counter.labels(cache="search", result="miss").inc()
        with pytest.raises(ValueError, match="non-negative"):
            hit.inc(-1)
    assert registry.get_sample_value("island_cache_requests_total", {"cache": "vehicle", "result": "hit"}) == 3.5
    assert registry.get_sample_value("island_cache_requests_total", {"cache": "search", "result": "miss"}) == 1.0
    theirs_text = generate_latest(their_registry).decode()
    assert generate_latest(registry).decode() == _without_created(theirs_text) + "\n"
    their_openmetrics = generate_openmetrics(their_registry).decode()
    assert generate_openmetrics(registry).decode() == _without_created(their_openmetrics) + "\n"
    assert FastCounter("jobs_total", "Jobs.", registry=None).name == "jobs"  # the suffix is the family's


def test_unlabelled_metrics_show_zero_before_use_as_prometheus_client_does():
    registry, their_registry = CollectorRegistry(), CollectorRegistry()
    gauge = FastGauge("island_queue_depth", "Depth.", registry=registry)
    histogram = FastHistogram("island_wait_seconds", "Wait.", buckets=(0.1, 1.0), registry=registry)
    counter = FastCounter("island_jobs", "Jobs.", registry=registry)
    Gauge("island_queue_depth", "Depth.", registry=their_registry)
    Histogram("island_wait_seconds", "Wait.", buckets=(0.1, 1.0), registry=their_registry)
    Counter("island_jobs", "Jobs.", registry=their_registry)
    assert generate_latest(registry).decode() == _without_created(generate_latest(their_registry).decode()) + "\n"
    gauge.set(3)
    gauge.dec()
    histogram.observe(0.5)
    counter.inc()
    counter.inc(2)
    assert registry.get_sample_value("island_queue_depth") == 2.0
    assert registry.get_sample_value("island_jobs_total") == 3.0
    assert registry.get_sample_value("island_wait_seconds_bucket", {"le": "1.0"}) == 1.0
    with pytest.raises(ValueError):
        gauge.labels("x")


def test_promtool_accepts_the_text_output():
    if shutil.which("promtool") is None:
        pytest.fail("promtool not installed: run make system-deps (Debian package prometheus)")
    histogram, registry = _fast()
    histogram.labels(*GET).observe(0.02, TRACE)
    FastGauge("http_server_active_requests", "Number of active HTTP server requests.",
              ("http_request_method",), registry=registry).labels("GET").inc()
    lint = subprocess.run(["promtool", "check", "metrics"], input=generate_latest(registry).decode(),
                          capture_output=True, text=True, check=False, timeout=60)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")


_PROBE = """
import json
from exporters import metrics
print(json.dumps({name: type(getattr(metrics, name)).__name__ for name in (
    "http_server_request_duration", "http_server_request_body_size", "http_server_response_body_size",
    "http_server_active_requests", "db_client_operation_duration", "outgoing_call_duration",
    "cache_requests")}))
"""


def _metric_classes(tmp_path: Path, multiprocess: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    if multiprocess:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)


def test_fast_metrics_in_one_process_prometheus_client_with_workers(tmp_path):
    hot = ("http_server_request_duration", "http_server_request_body_size", "http_server_response_body_size",
           "db_client_operation_duration")
    single = _metric_classes(tmp_path, multiprocess=False)
    assert [single[name] for name in hot] == ["FastHistogram"] * 4
    assert single["http_server_active_requests"] == "FastGauge"
    assert single["cache_requests"] == "FastCounter"
    assert single["outgoing_call_duration"] == "Histogram"
    workers = _metric_classes(tmp_path, multiprocess=True)
    assert [workers[name] for name in hot] == ["Histogram"] * 4
    assert workers["http_server_active_requests"] == "Gauge"
    assert workers["cache_requests"] == "Counter"
