"""Lock-free histogram, gauge and counter for the API's hot path, in one process only.

``FastHistogram``, ``FastGauge`` and ``FastCounter`` have the part of prometheus_client's ``Histogram`` /
``Gauge`` / ``Counter`` interface the API uses (``labels(...)`` returning a cached child;
``observe(amount, exemplar)``, ``inc``, ``dec``, ``set``) and register themselves in prometheus_client's
``REGISTRY`` as a collector whose ``collect()`` yields the same families, so ``generate_latest``, the
OpenMetrics encoder (exemplars included) and ``REGISTRY.get_sample_value`` see them like
prometheus_client's own metrics. The one difference in the output: no ``_created`` sample
(prometheus_client's is the time a child was created, which no dashboard or rule of ours reads).

Why our own: prometheus_client's ``Histogram.labels(...).observe()`` takes a lock per value (the sum and
the bucket are two ``MutexValue``s), walks the bounds with ``enumerate`` and checks
``_raise_if_not_observable`` on every call; ``Gauge.inc``/``dec`` and ``Counter.inc`` take a lock each. The
telemetry middleware does three observes, one inc and one dec per request, every SQL statement and Redis
command one more observe, and every cached read one counter inc (``island_cache_requests_total``:
``instruments.cache_lookup`` took 84 Python opcodes a read with prometheus_client's ``Counter``, 28 with
this one, counted with a ``sys.settrace`` opcode tracer in the live server). Measured in one process,
interleaved, min of 15 repeats of 100 000 calls minus the empty loop (``benchmarks/metrics_store.py``, 26
Nov 2026 01:30 UTC, 2-core VM at load 1.4, CPython 3.11.7, prometheus_client 0.26.0), per call:

    ==========================================  =================  ============
    call (a cached child)                       prometheus_client  fast_metrics
    ==========================================  =================  ============
    observe(value)   (14 bounds + +Inf)         1.11 µs            0.19 µs
    observe(value, {"trace_id": ...})           2.71 µs            0.62 µs
    gauge inc() + dec()                         1.00 µs            0.13 µs
    ==========================================  =================  ============

Around a trivial ASGI app, the middleware in metrics-only mode went from +8.7 µs to +4.6 µs a request
over no middleware (same process, the two stores swapped in turn, min of 15 runs of 20 000 requests).

Here an observe is one ``bisect_left`` on the bounds (``le`` is inclusive: the first bound >= the value,
+Inf last so every value has a bucket), one list increment and one float addition, with NO lock. That is
correct because every observation in the API comes from the event-loop thread: ``TelemetryMiddleware``
(its histograms and ``active`` gauge), ``InstrumentedAsyncCursor`` (psycopg's async cursor), the wrapped
``redis.asyncio`` client and ``api.cache`` (the cache counter) all run as coroutines on the one loop, and
``/metrics`` renders on that same loop, so no two observations, nor an observation and a scrape, ever
interleave. The GIL alone would not be enough for several writer threads: ``counts[i] += 1`` and
``self._sum += amount`` are a load, an add and a store, and a thread switch between them loses an
increment. The trade-off: a child observed from a worker thread (``anyio.to_thread``, a sync psycopg pool
with an instrumented cursor, a second event loop) would undercount under contention; such code must use
prometheus_client's metrics (every metric outside the six hot ones in ``exporters.metrics`` still is). A
scrape from another thread would at worst read a count and a sum one observation apart, which
prometheus_client's per-value locks do not prevent either. A NaN lands in the first bucket here
(prometheus_client counts it in no bucket); durations and sizes are never NaN.

Multiprocess mode (``--workers N``) keeps prometheus_client's mmap-backed metrics: ``exporters.metrics``
only builds these when ``PROMETHEUS_MULTIPROC_DIR`` is unset at import time.
"""
from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import _validate_exemplar, _validate_labelnames, _validate_metric_name
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Exemplar
from prometheus_client.utils import INF, floatToGoString

__all__ = ["CounterChild", "FastCounter", "FastGauge", "FastHistogram", "GaugeChild", "HistogramChild",
           "observe_three"]

C = TypeVar("C", "HistogramChild", "GaugeChild", "CounterChild")


_valid_exemplar_names: set[str] = set()


def _checked(exemplar: dict[str, str]) -> dict[str, str]:
    """prometheus_client's exemplar check (label names, at most 128 characters), each name checked once."""
    runes = 0
    for name, value in exemplar.items():
        if name not in _valid_exemplar_names:
            _validate_exemplar({name: ""})
            _valid_exemplar_names.add(name)
        runes += len(name) + len(value)
    if runes > 128:
        _validate_exemplar(exemplar)  # raises, with prometheus_client's own message
    return exemplar


class HistogramChild:
    """One labelled series of a ``FastHistogram``: non-cumulative bucket counts, the sum, exemplars."""

    __slots__ = ("_bounds", "_counts", "_exemplars", "_sum")

    def __init__(self, bounds: list[float]) -> None:
        self._bounds = bounds
        self._counts = [0] * len(bounds)
        # (labels, value, timestamp) per bucket, made an Exemplar at scrape time (a NamedTuple costs more)
        self._exemplars: list[tuple[dict[str, str], float, float] | None] = [None] * len(bounds)
        self._sum = 0.0

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        """Count ``amount`` in the first bucket whose upper bound is >= it (no lock: see the module doc)."""
        i = bisect_left(self._bounds, amount)
        self._counts[i] += 1
        self._sum += amount
        if exemplar:
            self._exemplars[i] = (_checked(exemplar), amount, time.time())

    def snapshot(self) -> tuple[list[tuple[str, float] | tuple[str, float, Exemplar]], float]:
        """Cumulative ``(le, count[, exemplar])`` buckets (+Inf last) and the sum, as the exposition wants."""
        counts, exemplars, total = self._counts[:], self._exemplars[:], self._sum
        buckets: list[tuple[str, float] | tuple[str, float, Exemplar]] = []
        acc = 0.0
        for bound, count, exemplar in zip(self._bounds, counts, exemplars):
            acc += count
            le = floatToGoString(bound)
            buckets.append((le, acc) if exemplar is None else (le, acc, Exemplar(*exemplar)))
        return buckets, total


def observe_three(first: HistogramChild, a: float, second: HistogramChild, b: float, third: HistogramChild,
                  c: float) -> None:
    """``first.observe(a); second.observe(b); third.observe(c)`` without exemplars, in one Python call: the
    HTTP middleware's duration and two body sizes, once per request (three method calls cost about 25
    Python opcodes more, counted with an opcode tracer)."""
    first._counts[bisect_left(first._bounds, a)] += 1
    first._sum += a
    second._counts[bisect_left(second._bounds, b)] += 1
    second._sum += b
    third._counts[bisect_left(third._bounds, c)] += 1
    third._sum += c


class GaugeChild:
    """One labelled series of a ``FastGauge`` (no lock: see the module doc)."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = 0.0

    def inc(self, amount: float = 1) -> None:
        self._value += amount

    def dec(self, amount: float = 1) -> None:
        self._value -= amount

    def set(self, value: float) -> None:
        self._value = float(value)

    def get(self) -> float:
        return self._value


class CounterChild:
    """One labelled series of a ``FastCounter`` (no lock: see the module doc)."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = 0.0

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (>= 0). No ``exemplar`` argument: no counter of ours carries exemplars."""
        if amount < 0:
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        self._value += amount

    def get(self) -> float:
        return self._value


class _Family(Generic[C]):
    """What the three metric kinds share: names, label validation, the child cache, registration."""

    def __init__(self, name: str, documentation: str, labelnames: Iterable[str],
                 registry: CollectorRegistry | None, reserved: type) -> None:
        _validate_metric_name(name)
        self.name = name
        self.documentation = documentation
        self.labelnames: tuple[str, ...] = _validate_labelnames(reserved, tuple(labelnames))
        self._children: dict[tuple[str, ...], C] = {}
        if not self.labelnames:  # prometheus_client shows an unlabelled metric (at 0) before first use
            self._children[()] = self._new_child()
        if registry is not None:
            registry.register(self)

    def labels(self, *values: object, **named: object) -> C:
        """The cached child of these label values (validated and made strings once, when first seen)."""
        if not self.labelnames:
            raise ValueError(f"No label names were set when constructing {self.name}")
        if values and named:
            raise ValueError("Can't pass both *args and **kwargs")
        if named:
            if sorted(named) != sorted(self.labelnames):
                raise ValueError("Incorrect label names")
            values = tuple(named[label] for label in self.labelnames)
        elif len(values) != len(self.labelnames):
            raise ValueError("Incorrect label count")
        key = tuple(str(value) for value in values)
        child = self._children.get(key)
        if child is None:
            child = self._children.setdefault(key, self._new_child())
        return child

    def _unlabelled(self) -> C:
        if self.labelnames:
            raise ValueError(f"{self.name} is missing label values")
        return self._children[()]

    def _new_child(self) -> C:
        raise NotImplementedError

    def _family(self) -> Metric:
        raise NotImplementedError

    def _add(self, family: Metric, values: tuple[str, ...], child: C) -> None:
        raise NotImplementedError

    def describe(self) -> Iterator[Metric]:
        """The family without samples (the registry reads the names from it, no collect at import)."""
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        """The family with one series per child, as prometheus_client's own metric yields it."""
        family = self._family()
        for values, child in list(self._children.items()):
            self._add(family, values, child)
        yield family

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class FastHistogram(_Family[HistogramChild]):
    """A histogram with prometheus_client's interface and exposition, observed without a lock."""

    def __init__(self, name: str, documentation: str, labelnames: Iterable[str] = (),
                 buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
                 registry: CollectorRegistry | None = REGISTRY) -> None:
        bounds = [float(bound) for bound in buckets]
        if bounds != sorted(bounds):
            raise ValueError("Buckets not in sorted order")
        if bounds and bounds[-1] != INF:
            bounds.append(INF)
        if len(bounds) < 2:
            raise ValueError("Must have at least two buckets")
        self._bounds = bounds
        super().__init__(name, documentation, labelnames, registry, Histogram)

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        """Observe on a histogram declared without labels."""
        self._unlabelled().observe(amount, exemplar)

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self._bounds)

    def _family(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def _add(self, family: Metric, values: tuple[str, ...], child: HistogramChild) -> None:
        assert isinstance(family, HistogramMetricFamily)
        buckets, total = child.snapshot()
        family.add_metric(values, buckets, total)


class _OneValueFamily(_Family[C]):
    """Gauge and counter: one float per child, exposed as one sample per child."""

    _family_type: type[GaugeMetricFamily | CounterMetricFamily]
    _child_type: type[GaugeChild | CounterChild]

    def _new_child(self) -> C:
        return self._child_type()  # type: ignore[return-value]

    def _family(self) -> Metric:
        return self._family_type(self.name, self.documentation, labels=self.labelnames)

    def _add(self, family: Metric, values: tuple[str, ...], child: C) -> None:
        assert isinstance(family, self._family_type)
        family.add_metric(values, child.get())  # type: ignore[attr-defined]


class FastGauge(_OneValueFamily[GaugeChild]):
    """A gauge with prometheus_client's interface and exposition, changed without a lock."""

    _family_type = GaugeMetricFamily
    _child_type = GaugeChild

    def __init__(self, name: str, documentation: str, labelnames: Iterable[str] = (),
                 registry: CollectorRegistry | None = REGISTRY) -> None:
        super().__init__(name, documentation, labelnames, registry, Gauge)

    def inc(self, amount: float = 1) -> None:
        """On a gauge declared without labels, as the next two."""
        self._unlabelled().inc(amount)

    def dec(self, amount: float = 1) -> None:
        self._unlabelled().dec(amount)

    def set(self, value: float) -> None:
        self._unlabelled().set(value)


class FastCounter(_OneValueFamily[CounterChild]):
    """A counter with prometheus_client's interface and exposition (``<name>_total``), without a lock."""

    _family_type = CounterMetricFamily
    _child_type = CounterChild

    def __init__(self, name: str, documentation: str, labelnames: Iterable[str] = (),
                 registry: CollectorRegistry | None = REGISTRY) -> None:
        # As prometheus_client: the family is named without the suffix.
        super().__init__(name.removesuffix("_total"), documentation, labelnames, registry, Counter)

    def inc(self, amount: float = 1) -> None:
        """On a counter declared without labels."""
        self._unlabelled().inc(amount)
