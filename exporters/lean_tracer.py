"""A leaner recording span than the OpenTelemetry SDK's, for the spans this project opens per request.

Why our own: the SDK's ``Span`` costs 40-50 µs from start to end for a server span with ten attributes
on the project's 2-core VM (``min(timeit.repeat(...))`` of start_span + set_attributes + end with a
BatchSpanProcessor, 26 Nov 2026); cProfile puts most of it in attribute validation
(``_clean_attribute_value`` on every value, a ``BoundedAttributes`` with a lock per item), the sampler
call and the tracer's self-metrics. At the default 10 % sampling a vehicle-detail request opens five
spans half the time, so this was the largest part of the traced request's cost. ``LeanSpan`` keeps a
plain dict of attributes (the values this project sets are primitives; anything else is checked the
SDK's way), and is itself a ``ReadableSpan`` (the SDK's read-only span class, which its own ``Span``
also extends), handed as it is to the processors at ``end()``: every exporter (the OTLP JSON one, the
SDK's OTLP protobuf one, the in-memory one of the tests) reads it through the SDK's own properties.
Until 27 Nov 2026 ``end()`` copied it into a new ``ReadableSpan`` (13 keyword arguments, about a tenth
of a sampled child span's cost). Measured figures: see ``benchmarks/telemetry_cpu.py`` and the README.

What stays the SDK's: the ``TracerProvider`` (resource, span processors, force_flush/shutdown),
``ReadableSpan``, ``Event``, ``Status``. Sampling is ParentBased(TraceIdRatioBased(ratio)) with the SDK's
defaults, decided in ``start_span`` (the same test of the trace id's low 64 bits against the bound; a test
checks the decisions agree with the SDK sampler's).
"""
from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from random import getrandbits
from time import time_ns
from typing import Any

from opentelemetry import trace
from opentelemetry.attributes import _clean_attribute_value  # the SDK's own check, for unusual values
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import DEFAULT_TRACE_STATE, Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

MAX_ATTRIBUTES = 128  # the SDK's default OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT
MAX_EVENTS = 128
_PRIMITIVES = (str, bool, int, float)
_UNSET = Status(StatusCode.UNSET)
TRACE_ID_LIMIT = TraceIdRatioBased.TRACE_ID_LIMIT
_new_tuple = tuple.__new__
SAMPLED = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT | TraceFlags.RANDOM_TRACE_ID)


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span: attributes in a plain dict; the processors get the span itself at ``end()``, read
    through ``ReadableSpan``'s properties (nothing changes it once ended)."""

    __slots__ = ("_attributes", "_context", "_end_time", "_events", "_instrumentation_scope", "_kind", "_links",
                 "_name", "_parent", "_resource", "_start_time", "_status", "_tracer")
    _instrumentation_info = None  # ReadableSpan's deprecated field: the scope replaces it

    def __init__(self, tracer: LeanTracer, name: str, context: SpanContext, parent: SpanContext | None,
                 kind: SpanKind, attributes: Mapping[str, Any] | None, links: Sequence[Link],
                 start_time: int | None) -> None:
        self._tracer = tracer
        self._resource = tracer.resource
        self._instrumentation_scope = tracer.scope
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._end_time: int | None = None
        self._attributes: dict[str, Any] = {}
        if attributes:
            self.set_attributes(attributes)
        self._events: list[Event] = []
        self._links = tuple(links)
        self._status = _UNSET
        self._start_time = start_time or time_ns()

    # --- the opentelemetry.trace.Span interface --------------------------------------------------------
    def get_span_context(self) -> SpanContext:
        return self._context  # type: ignore[return-value]  # set in __init__, never None here

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attribute(self, key: str, value: Any) -> None:
        if self._end_time is not None:
            return
        if type(value) not in _PRIMITIVES:
            value = _clean_attribute_value(value, None)
            if value is None:  # the SDK's check logged why
                return
        attributes = self._attributes
        if key in attributes or len(attributes) < MAX_ATTRIBUTES:
            attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        # set_attribute's checks inlined: a sampled server span gets ten attributes here at once.
        if self._end_time is not None:
            return
        mine = self._attributes
        for key, value in attributes.items():
            if type(value) not in _PRIMITIVES:
                value = _clean_attribute_value(value, None)
                if value is None:  # the SDK's check logged why
                    continue
            if key in mine or len(mine) < MAX_ATTRIBUTES:
                mine[key] = value

    def adopt_attributes(self, attributes: dict[str, Any]) -> None:
        """Take ``attributes`` as this span's first attributes, without ``set_attributes``' check of every
        value: for a fresh dict of str, bool, int and float values that the caller built and hands over
        (it must not change it afterwards). A sampled server span's ten attributes cost 230 Python opcodes
        through ``set_attributes`` (an opcode tracer in the real app). Anything else goes that way."""
        if self._end_time is None and not self._attributes and len(attributes) <= MAX_ATTRIBUTES:
            self._attributes = attributes
        else:
            self.set_attributes(attributes)

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None,
                  timestamp: int | None = None) -> None:
        if self._end_time is None and len(self._events) < MAX_EVENTS:
            self._events.append(Event(name, attributes, timestamp or time_ns()))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        if self._end_time is None and context.is_valid:
            self._links = (*self._links, Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: OK is final, UNSET is ignored, a description only with a StatusCode.
        if self._end_time is not None or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is not StatusCode.UNSET:
                self._status = status
        elif status is not StatusCode.UNSET:
            self._status = Status(status, description)

    def record_exception(self, exception: BaseException, attributes: Mapping[str, Any] | None = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
        """An ``exception`` event with the attributes the SDK gives it."""
        module, qualname = type(exception).__module__, type(exception).__qualname__
        event_attributes: dict[str, Any] = {
            "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            event_attributes.update(attributes)
        self.add_event("exception", event_attributes, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end_time is not None:
            return
        self._end_time = end_time or time_ns()
        self._tracer.processor.on_end(self)

    # --- read access, as the SDK's Span has ------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def attributes(self) -> Mapping[str, Any]:
        return self._attributes

    def __repr__(self) -> str:
        return f"LeanSpan(name={self._name!r}, context={self._context!r})"


_new_object = object.__new__


def unsampled_span(trace_id: int, span_id: int) -> NonRecordingSpan:
    """``NonRecordingSpan(SpanContext(trace_id, span_id, False, NOT_SAMPLED))`` without the constructors'
    checks and calls: the ids are valid by construction (getrandbits, never 0). NonRecordingSpan's
    ``__init__`` only stores the context; a test checks the result equals the constructors'."""
    span = _new_object(NonRecordingSpan)
    span._context = _new_tuple(SpanContext, (trace_id, span_id, False, NOT_SAMPLED, DEFAULT_TRACE_STATE, True))
    return span  # type: ignore[no-any-return]


class LeanTracer(trace.Tracer):
    """Starts ``LeanSpan``s for one provider's resource and span processor, sampling
    ParentBased(TraceIdRatioBased(ratio))."""

    def __init__(self, processor: SpanProcessor, resource: Resource, scope: InstrumentationScope,
                 ratio: float) -> None:
        self.processor = processor
        self.resource = resource
        self.scope = scope
        self.bound = TraceIdRatioBased(ratio).bound

    def root_sampled(self, trace_id: int) -> bool:
        """TraceIdRatioBased's decision for a root span with ``trace_id``."""
        return (trace_id & TraceIdRatioBased.TRACE_ID_LIMIT) < self.bound

    def start_root_span(self, name: str, kind: SpanKind) -> trace.Span:
        """``start_span(name, Context(), kind)``, the way most server spans start (no incoming
        traceparent), in half its time: an unsampled root, nine requests in ten at the default ratio, is
        a bare NonRecordingSpan whose SpanContext is built without SpanContext's range checks (the ids
        come from getrandbits and are never 0, so they hold by construction)."""
        span_id = getrandbits(64) or 1  # drawn in start_span's order: the same seed gives the same ids
        trace_id = getrandbits(128) or 1
        if (trace_id & TRACE_ID_LIMIT) >= self.bound:
            return unsampled_span(trace_id, span_id)
        return self.sampled_root(name, kind, trace_id, span_id)

    def sampled_root(self, name: str, kind: SpanKind, trace_id: int, span_id: int) -> LeanSpan:
        """The recording root span of ids the caller drew (``start_root_span``'s sampled case)."""
        span = LeanSpan(self, name, _new_tuple(SpanContext, (trace_id, span_id, False, SAMPLED,
                                                             DEFAULT_TRACE_STATE, True)),
                        None, kind, None, (), None)
        self.processor.on_start(span, parent_context=None)  # type: ignore[arg-type]
        return span

    def start_span(self, name: str, context: Context | None = None, kind: SpanKind = SpanKind.INTERNAL,
                   attributes: Mapping[str, Any] | None = None, links: Sequence[Link] | None = (),
                   start_time: int | None = None, record_exception: bool = True,
                   set_status_on_exception: bool = True) -> trace.Span:
        """A child of the span current in ``context`` (recorded when the parent is sampled), or a root
        with fresh random ids, sampled by ratio."""
        parent = trace.get_current_span(context).get_span_context()
        span_id = getrandbits(64) or 1
        if parent.is_valid:
            flags = parent.trace_flags
            span_context = SpanContext(parent.trace_id, span_id, False, flags, parent.trace_state)
            if not flags.sampled:
                return NonRecordingSpan(span_context)
        else:
            parent = None  # type: ignore[assignment]
            trace_id = getrandbits(128) or 1
            if not self.root_sampled(trace_id):
                return NonRecordingSpan(SpanContext(trace_id, span_id, False, NOT_SAMPLED))
            span_context = SpanContext(trace_id, span_id, False, SAMPLED)
        span = LeanSpan(self, name, span_context, parent, kind, attributes, links or (), start_time)
        self.processor.on_start(span, parent_context=context)  # type: ignore[arg-type]
        return span

    def start_child(self, parent: trace.Span, name: str, kind: SpanKind, attributes: dict[str, Any]) -> trace.Span:
        """``start_span(name, context with parent, kind, attributes)`` for the client spans of a sampled
        request (every SQL statement and Redis command), cheaper: the caller passes the parent
        span it found recording (no context lookup), the SpanContext is built without the constructor's
        checks (the parent's ids are valid, the new span id is never 0), and ``attributes`` is adopted
        without a check of each value (see ``LeanSpan.adopt_attributes``). With the span itself handed to
        the processors at its end, a sampled vehicle-detail request's five spans cost 15.0 µs against
        21.1 µs through ``start_span`` and 92.5 µs with the SDK's tracer (``make bench
        BENCH=span_pipeline``, 27 Nov 2026). A parent not sampled takes ``start_span``'s way."""
        parent_context = parent.get_span_context()
        flags = parent_context[3]
        if not flags & TraceFlags.SAMPLED or len(attributes) > MAX_ATTRIBUTES:
            return self.start_span(name, trace.set_span_in_context(parent), kind, attributes)
        span = LeanSpan(self, name, _new_tuple(SpanContext, (parent_context[0], getrandbits(64) or 1, False, flags,
                                                             parent_context[4], True)),
                        parent_context, kind, None, (), None)
        span._attributes = attributes
        self.processor.on_start(span, parent_context=None)  # type: ignore[arg-type]
        return span

    @contextmanager
    def start_as_current_span(self, name: str, context: Context | None = None,  # type: ignore[override]
                              kind: SpanKind = SpanKind.INTERNAL, attributes: Mapping[str, Any] | None = None,
                              links: Sequence[Link] | None = (), start_time: int | None = None,
                              record_exception: bool = True, set_status_on_exception: bool = True,
                              end_on_exit: bool = True) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(span, end_on_exit=end_on_exit, record_exception=record_exception,
                            set_status_on_exception=set_status_on_exception) as current:
            yield current
