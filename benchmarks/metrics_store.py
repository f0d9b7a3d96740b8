"""Cost of one histogram observe / gauge inc+dec: prometheus_client against exporters.fast_metrics.

    .venv/bin/python -m benchmarks.metrics_store        # about 20 s; BENCH_REPEATS=15 BENCH_CALLS=100000

Both implementations run in this one process, interleaved (each repeat times every case once, in a
rotated order) on children made the way the API makes them (labels() once, cached); the figure is the
minimum over the repeats of the time per call, the empty loop's time subtracted. The observed values are
a fixed log-normal sample around 20 ms, so they spread over the HTTP duration buckets as real requests do.
"""
from __future__ import annotations

import platform
import random
import time
from collections.abc import Callable
from importlib.metadata import version

from prometheus_client import Gauge, Histogram

from benchmarks.settings import positive_int
from exporters.fast_metrics import FastGauge, FastHistogram
from exporters.metrics import HTTP_DURATION_BUCKETS, HTTP_LABELS

REPEATS = positive_int("BENCH_REPEATS", 15)
CALLS = positive_int("BENCH_CALLS", 100000)
LABELS = ("GET", "/v1/vehicles/{vehicle_id}", "200")
EXEMPLAR = {"trace_id": "5b8aa5a2d2c872e8321cf37308d69df2"}


def _cases() -> dict[str, Callable[[list[float]], float]]:
    hist = Histogram("bench_pc_seconds", "b", HTTP_LABELS, buckets=HTTP_DURATION_BUCKETS, registry=None)
    fast = FastHistogram("bench_fast_seconds", "b", HTTP_LABELS, buckets=HTTP_DURATION_BUCKETS, registry=None)
    gauge = Gauge("bench_pc_active", "b", ("m",), registry=None)
    fast_gauge = FastGauge("bench_fast_active", "b", ("m",), registry=None)
    pc_child, fast_child = hist.labels(*LABELS), fast.labels(*LABELS)
    pc_gauge, fast_gauge_child = gauge.labels("GET"), fast_gauge.labels("GET")

    def observe(child: object) -> Callable[[list[float]], float]:
        def run(values: list[float]) -> float:
            obs = child.observe  # type: ignore[attr-defined]
            start = time.perf_counter()
            for value in values:
                obs(value)
            return time.perf_counter() - start
        return run

    def observe_exemplar(child: object) -> Callable[[list[float]], float]:
        def run(values: list[float]) -> float:
            obs, exemplar = child.observe, EXEMPLAR  # type: ignore[attr-defined]
            start = time.perf_counter()
            for value in values:
                obs(value, exemplar)
            return time.perf_counter() - start
        return run

    def inc_dec(child: object) -> Callable[[list[float]], float]:
        def run(values: list[float]) -> float:
            inc, dec = child.inc, child.dec  # type: ignore[attr-defined]
            start = time.perf_counter()
            for _ in values:
                inc()
                dec()
            return time.perf_counter() - start
        return run

    def empty(values: list[float]) -> float:
        start = time.perf_counter()
        for _ in values:
            pass
        return time.perf_counter() - start

    return {
        "empty loop": empty,
        "observe prometheus_client": observe(pc_child),
        "observe fast": observe(fast_child),
        "observe+exemplar prometheus_client": observe_exemplar(pc_child),
        "observe+exemplar fast": observe_exemplar(fast_child),
        "gauge inc+dec prometheus_client": inc_dec(pc_gauge),
        "gauge inc+dec fast": inc_dec(fast_gauge_child),
    }


def main() -> None:
    rng = random.Random(42)
    values = [rng.lognormvariate(-4.0, 1.2) for _ in range(CALLS)]
    cases = _cases()
    names = list(cases)
    best = dict.fromkeys(names, float("inf"))
    for repeat in range(REPEATS):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            best[name] = min(best[name], cases[name](values) / CALLS)
    loop = best.pop("empty loop")
    print(f"CPython {platform.python_version()}, prometheus_client {version('prometheus-client')}, "
          f"{REPEATS} repeats x {CALLS} calls, min per call minus the empty loop ({loop * 1e9:.0f} ns)")
    for name, seconds in best.items():
        print(f"  {name:38s} {(seconds - loop) * 1e6:6.3f} µs")


if __name__ == "__main__":
    main()
