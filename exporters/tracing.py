"""OpenTelemetry tracing: the SDK TracerProvider, its sampler and exporter, and the W3C context helpers.

The process-wide provider lives here, not in ``opentelemetry.trace``'s global (which can be set only once
per process, and which FastAPI's native telemetry watches), so that tests can install a fresh provider
with an in-memory exporter for each app they build. Everything in exporters/ that opens a span asks
``get_tracer()``; the current span travels in the standard OpenTelemetry context as usual.
"""
from __future__ import annotations

from collections.abc import Sequence
from random import getrandbits
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NoOpTracerProvider, SpanKind, Tracer
from opentelemetry.trace import propagation as trace_propagation
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from exporters.lean_tracer import NOT_SAMPLED, TRACE_ID_LIMIT, LeanTracer, unsampled_span

INSTRUMENTATION_NAME = "island-rides"
_noop_tracer = NoOpTracerProvider().get_tracer(INSTRUMENTATION_NAME)
_tracer: Tracer = _noop_tracer
_provider: TracerProvider | None = None
propagator = TraceContextTextMapPropagator()
_NO_PARENT = Context()  # the context a root server span starts from, whatever is current around it


def configure_tracing(service_name: str, service_version: str, sampler_ratio: float,
                      otlp_endpoint: str | None = None,
                      otlp_protocol: str = "http/json",
                      exporters: Sequence[SpanExporter] = (),
                      processors: Sequence[SpanProcessor] = ()) -> TracerProvider:
    """Install a TracerProvider sampling ParentBased(TraceIdRatioBased(``sampler_ratio``)).

    With ``otlp_endpoint`` set, spans go to an OTLP/HTTP exporter for ``otlp_protocol`` (``http/json``:
    exporters.otlp_json; ``http/protobuf``: the SDK's), which reads the standard ``OTEL_EXPORTER_OTLP_*``
    variables, through a BatchSpanProcessor; each of ``exporters`` gets a
    SimpleSpanProcessor (tests pass an InMemorySpanExporter).
    """
    global _provider, _tracer
    span_processor = SynchronousMultiSpanProcessor()
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": service_version}),
        sampler=ParentBased(TraceIdRatioBased(sampler_ratio)), active_span_processor=span_processor,
    )
    if otlp_endpoint:
        from exporters.otlp_json import make_otlp_exporter

        provider.add_span_processor(BatchSpanProcessor(make_otlp_exporter(otlp_protocol)))
    for exporter in exporters:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    for processor in processors:
        provider.add_span_processor(processor)
    if _provider is not None:
        _provider.shutdown()
    _provider = provider
    # Spans are started by exporters.lean_tracer (a fifth of the SDK span's cost, see there), on this
    # provider's resource and processors; the provider's own sampler is the same ParentBased(ratio).
    _tracer = LeanTracer(span_processor, provider.resource, InstrumentationScope(INSTRUMENTATION_NAME),
                         sampler_ratio)
    # Deliberately NOT installed as the global provider (trace.set_tracer_provider): FastAPI >= 0.16x
    # turns its native telemetry on as soon as a global provider exists, adding an operation span per
    # dependency/endpoint/serialisation step on top of ours (measured: 5 extra spans per request).
    return provider


def disable_tracing() -> None:
    """Back to the no-op tracer (``ISLAND_TELEMETRY=off``)."""
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider = None
    _tracer = _noop_tracer


def get_tracer() -> Tracer:
    """The tracer of the current configuration (a no-op tracer when tracing is off)."""
    return _tracer


def tracing_enabled() -> bool:
    return _provider is not None


def shutdown_tracing() -> None:
    """Flush and stop the span exporters (at process exit)."""
    if _provider is not None:
        _provider.shutdown()


def traceparent_bytes(span_context: trace.SpanContext) -> bytes:
    """The W3C ``traceparent`` header value for ``span_context``, as bytes for a response header (bytes
    %-formatting: half the cost of an f-string plus encode)."""
    # SpanContext is a tuple (trace_id, span_id, is_remote, trace_flags, ...): indexing skips three
    # property calls.
    return b"00-%032x-%016x-%02x" % (span_context[0], span_context[1], span_context[3])


def format_traceparent(span_context: trace.SpanContext) -> str:
    """``traceparent_bytes`` as text."""
    return traceparent_bytes(span_context).decode("ascii")


def hex_ids(traceparent: bytes) -> tuple[str, str]:
    """(trace id, span id) in hex, sliced from a ``traceparent_bytes`` value: cheaper than formatting the
    ids again for a log line or an exemplar."""
    return traceparent[3:35].decode("ascii"), traceparent[36:52].decode("ascii")


def _runtime_context_var() -> Any:
    """The ContextVar behind OpenTelemetry's current context, when the runtime context is the default
    contextvars one (it can be replaced through OTEL_PYTHON_CONTEXT); else None."""
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    if isinstance(runtime, ContextVarsRuntimeContext):
        return getattr(runtime, "_current_context", None)
    return None


_CURRENT_CONTEXT = _runtime_context_var()
_SPAN_KEY = getattr(trace_propagation, "_SPAN_KEY", None)
_UNSAMPLED_TRACEPARENT = b"00-%%032x-%%016x-%02x" % NOT_SAMPLED  # traceparent_bytes of an unsampled root


def attach_span(span: trace.Span, parent: Context | None) -> Any:
    """Make ``span`` current (in ``parent``, or in the current context when None) until ``detach(token)``.

    What ``context.attach(trace.set_span_in_context(span, parent))`` does, straight on the runtime's
    ContextVar: it runs once per request, and the four API calls it saves cost 2.8k of its 7.7k
    instructions (callgrind). Falls back to the public API when the runtime context is not the default.
    """
    if _CURRENT_CONTEXT is None or _SPAN_KEY is None:
        return otel_context.attach(trace.set_span_in_context(span, parent))
    return _CURRENT_CONTEXT.set(Context({**(_CURRENT_CONTEXT.get() if parent is None else parent),
                                         _SPAN_KEY: span}))


def recording_span() -> trace.Span | None:
    """The current span when it is recording (sampled), else None: ``trace.get_current_span()`` and its
    ``is_recording()``, read straight from the runtime's ContextVar.

    Every SQL statement and Redis command asks this to decide whether to open a client span, and hands the
    answer to ``start_child_span``: the API path is four calls and an ``isinstance`` against an ABC (45
    Python opcodes a Redis command, counted with an opcode tracer in the live server), this is one dict
    lookup and the span's own method. Falls back to the public API when the runtime context is not the
    default.
    """
    if _CURRENT_CONTEXT is None or _SPAN_KEY is None:
        span = trace.get_current_span()
    else:
        span = _CURRENT_CONTEXT.get().get(_SPAN_KEY)
        if span is None:
            return None
    return span if span.is_recording() else None


def start_child_span(parent: trace.Span, name: str, kind: SpanKind, attributes: dict[str, Any]) -> trace.Span:
    """Start a child of ``parent``, the current recording span (``recording_span()``), that takes
    ``attributes`` as they are: a fresh dict of str, bool, int and float values the caller hands over and
    no longer changes. The SQL and Redis client spans start here (``LeanTracer.start_child``); with another
    tracer, through its ``start_span`` and the usual checks."""
    tracer = _tracer
    if type(tracer) is LeanTracer:
        return tracer.start_child(parent, name, kind, attributes)
    return tracer.start_span(name, context=trace.set_span_in_context(parent), kind=kind, attributes=attributes)


def detach(token: Any) -> None:
    """Undo ``attach_span``."""
    if _CURRENT_CONTEXT is None or _SPAN_KEY is None:
        otel_context.detach(token)
    else:
        _CURRENT_CONTEXT.reset(token)


def use_span(span: trace.Span) -> Any:
    """Make ``span`` current for a block without ending it at the block's end."""
    return trace.use_span(span, end_on_exit=False)


def begin_request(method: str, carrier: dict[str, str] | None) -> tuple[trace.Span | None, bytes | None, Any]:
    """Start a request's server span and make it current: ``(span, traceparent, token)``.

    The server span is a child of the ``traceparent`` in ``carrier`` (the request's ``traceparent`` and
    ``tracestate`` headers, or None) when that holds a valid span, else a new root sampled with the
    configured ratio. ``span`` is that span when it is recorded (sampled), else None; ``traceparent`` its
    ``traceparent_bytes``, recorded or not (the response header, the log lines' ids); ``token`` undoes the
    attach (``detach``). All three None when tracing is off.

    An unsampled root (90 % of requests at the default ratio) is a bare NonRecordingSpan with fresh random
    ids: two random numbers and the SpanContext, and still real ids for the request's logs and header.
    That case is written out here, in this one call, rather than through ``start_root_span``,
    ``traceparent_bytes``, ``attach_span`` and the span's methods: 1.52 µs against 1.89 µs with detach,
    in a tight loop. Inside the server the root path cost about 9 µs of a 200 µs ``/livez`` request, and
    this saved 1.1 % [0.6-1.7] of it (in-process A/B, ``benchmarks.telemetry_ab``, 27 Nov 2026).
    """
    if _provider is None:
        return None, None, None
    tracer = _tracer
    if carrier is None and _CURRENT_CONTEXT is not None and _SPAN_KEY is not None and type(tracer) is LeanTracer:
        span_id = getrandbits(64) or 1  # start_root_span's draws, in its order
        trace_id = getrandbits(128) or 1
        if (trace_id & TRACE_ID_LIMIT) >= tracer.bound:
            context = Context({**_CURRENT_CONTEXT.get(), _SPAN_KEY: unsampled_span(trace_id, span_id)})
            return None, _UNSAMPLED_TRACEPARENT % (trace_id, span_id), _CURRENT_CONTEXT.set(context)
        started: trace.Span = tracer.sampled_root(method, SpanKind.SERVER, trace_id, span_id)
        return started, traceparent_bytes(started.get_span_context()), attach_span(started, None)
    parent = propagator.extract(carrier) if carrier else None
    if parent is None:
        started = tracer.start_root_span(method, SpanKind.SERVER)  # type: ignore[attr-defined]
    else:
        started = tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
    traceparent = traceparent_bytes(started.get_span_context())
    span = started if started.is_recording() else None
    return span, traceparent, attach_span(started, parent)  # attached last: nothing after it can raise
