"""exporters.lean_tracer against the OpenTelemetry SDK it stands in for: the same sampling decisions and
the same exported spans (compared through the in-memory exporter, as every exporter sees them)."""
from __future__ import annotations

import random

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from exporters.lean_tracer import LeanSpan, LeanTracer

RESOURCE = Resource.create({"service.name": "island-api"})


def lean(ratio: float = 1.0) -> tuple[LeanTracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    processor = SynchronousMultiSpanProcessor()
    processor.add_span_processor(SimpleSpanProcessor(exporter))
    return LeanTracer(processor, RESOURCE, InstrumentationScope("island-rides"), ratio), exporter


def sdk(ratio: float = 1.0) -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE, sampler=ParentBased(TraceIdRatioBased(ratio)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("island-rides"), exporter


def parent_context(sampled: bool, remote: bool) -> object:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    span_context = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, remote, flags,
                               TraceState([("vendor", "x")]))
    return trace.set_span_in_context(NonRecordingSpan(span_context))


@pytest.mark.parametrize("start", ["start_span", "start_root_span"])
def test_root_sampling_agrees_with_the_sdk_sampler(start):
    tracer, _ = lean(0.25)
    sampler = ParentBased(TraceIdRatioBased(0.25))
    rng = random.Random(7)
    decisions = []
    random.seed(rng.random())  # the tracer draws its ids from the random module
    for _ in range(2000):
        if start == "start_span":
            ours = tracer.start_span("GET", context=trace.set_span_in_context(trace.INVALID_SPAN))
        else:
            ours = tracer.start_root_span("GET", SpanKind.SERVER)
        trace_id = ours.get_span_context().trace_id
        theirs = sampler.should_sample(None, trace_id, "GET").decision.is_sampled()
        assert ours.is_recording() is theirs
        assert ours.get_span_context().trace_flags.sampled is theirs
        decisions.append(theirs)
    assert 0.15 < sum(decisions) / len(decisions) < 0.35  # both really sample, at about the ratio


def test_a_fast_root_is_the_root_start_span_makes():
    """start_root_span builds its SpanContext without the constructor's checks: it must still equal, field
    for field, the one start_span builds from the same random draws, sampled or not."""
    tracer, exporter = lean(0.5)
    for seed in range(40):
        random.seed(seed)
        slow = tracer.start_span("GET", context=trace.set_span_in_context(trace.INVALID_SPAN),
                                 kind=SpanKind.SERVER)
        random.seed(seed)
        fast = tracer.start_root_span("GET", SpanKind.SERVER)
        assert fast.get_span_context() == slow.get_span_context()
        assert fast.get_span_context().is_valid and not fast.get_span_context().is_remote
        assert type(fast) is type(slow) and fast.is_recording() is slow.is_recording()
        assert fast.get_span_context().trace_state == slow.get_span_context().trace_state
        slow.end()
        fast.end()
    spans = exporter.get_finished_spans()
    assert spans and all(s.parent is None and s.kind is SpanKind.SERVER for s in spans)


@pytest.mark.parametrize("sampled", [True, False])
@pytest.mark.parametrize("remote", [True, False])
def test_a_child_follows_its_parent_like_parent_based(sampled, remote):
    tracer, _ = lean(0.0)  # the ratio must not matter under a parent
    reference, _ = sdk(0.0)
    context = parent_context(sampled, remote)
    ours = tracer.start_span("SELECT vehicles", context=context, kind=SpanKind.CLIENT)
    theirs = reference.start_span("SELECT vehicles", context=context, kind=SpanKind.CLIENT)
    for span in (ours, theirs):
        span_context = span.get_span_context()
        assert span_context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
        assert span_context.span_id not in (0, 0xB7AD6B7169203331)
        assert span_context.trace_state == TraceState([("vendor", "x")])
    assert ours.is_recording() is theirs.is_recording() is sampled
    assert ours.get_span_context().trace_flags.sampled is theirs.get_span_context().trace_flags.sampled


def exercise(tracer: trace.Tracer) -> None:
    """The same calls on either tracer: a server span with attributes, a child, an error, an event."""
    server = tracer.start_span("GET", context=parent_context(True, True), kind=SpanKind.SERVER,
                               attributes={"http.request.method": "GET", "url.path": "/v1/vehicles/7",
                                           "server.port": 8000, "island.flag": True, "island.ratio": 0.5})
    server.set_attributes({"http.route": "/v1/vehicles/{vehicle_id}", "island.tags": ["a", "b"]})
    server.update_name("GET /v1/vehicles/{vehicle_id}")
    with trace.use_span(server, end_on_exit=False):
        child = tracer.start_span("SELECT vehicles", kind=SpanKind.CLIENT, attributes={"db.system.name": "postgresql"})
        child.set_status(StatusCode.ERROR, "boom")
        child.set_status(Status(StatusCode.UNSET))  # ignored, as in the SDK
        try:
            raise ValueError("no such vehicle")
        except ValueError as exc:
            child.record_exception(exc, attributes={"island.where": "repository"})
        child.end()
    server.add_event("cache.hit", {"cache": "vehicle"})
    server.set_attribute("http.response.status_code", 200)
    server.set_status(Status(StatusCode.OK))
    server.set_status(StatusCode.ERROR, "too late")  # OK is final
    server.end()
    server.set_attribute("after.end", 1)  # ignored once ended
    server.end()  # a second end exports nothing more


def exported(exporter: InMemorySpanExporter) -> list[dict]:
    out = []
    for span in exporter.get_finished_spans():
        out.append({
            "name": span.name, "kind": span.kind, "attributes": dict(span.attributes),
            "status": (span.status.status_code, span.status.description),
            "events": [(e.name, {k: v for k, v in e.attributes.items() if k != "exception.stacktrace"})
                       for e in span.events],
            "stacktrace": [e.attributes.get("exception.stacktrace", "").splitlines()[-1:] for e in span.events],
            "parent": (span.parent.trace_id, span.parent.span_id, span.parent.is_remote) if span.parent else None,
            "trace_id": span.context.trace_id, "resource": dict(span.resource.attributes),
            "scope": span.instrumentation_scope.name, "ordered": span.start_time <= span.end_time,
        })
    return out


def test_exported_spans_match_the_sdk():
    ours, our_exporter = lean()
    theirs, their_exporter = sdk()
    exercise(ours)
    exercise(theirs)
    mine, reference = exported(our_exporter), exported(their_exporter)
    assert [s["name"] for s in mine] == ["SELECT vehicles", "GET /v1/vehicles/{vehicle_id}"]
    # Parent links differ only by the random span ids: compare them structurally.
    server_ours = our_exporter.get_finished_spans()[1]
    child_ours = our_exporter.get_finished_spans()[0]
    assert child_ours.parent.span_id == server_ours.context.span_id
    for span in mine + reference:
        if span["parent"] and span["parent"][2] is False:
            span["parent"] = "local"
    assert mine == reference
    assert mine[1]["attributes"]["island.tags"] == ("a", "b")
    assert "after.end" not in mine[1]["attributes"]
    assert mine[0]["stacktrace"] == [["ValueError: no such vehicle"]]


def test_attribute_count_is_bounded_like_the_sdk_default():
    tracer, exporter = lean()
    span = tracer.start_span("many")
    for i in range(200):
        span.set_attribute(f"a{i}", i)
    span.set_attribute("a0", "updated")  # an existing key may still change
    span.end()
    bulk = tracer.start_span("many at once")
    bulk.set_attributes({f"a{i}": i for i in range(200)})
    bulk.set_attributes({"a0": "updated"})
    bulk.end()
    for done in exporter.get_finished_spans():
        assert len(done.attributes) == 128 and done.attributes["a0"] == "updated"


def test_start_as_current_span_makes_it_current_and_ends_it():
    tracer, exporter = lean()
    with tracer.start_as_current_span("outer") as outer:
        assert isinstance(outer, LeanSpan)
        assert trace.get_current_span() is outer
        inner = tracer.start_span("inner")
        inner.end()
    names = [(s.name, s.parent.span_id if s.parent else None) for s in exporter.get_finished_spans()]
    assert names == [("inner", outer.get_span_context().span_id), ("outer", None)]


def test_adopted_attributes_are_taken_as_they_are_only_by_a_fresh_span():
    tracer, exporter = lean()
    mine = {"http.request.method": "GET", "server.port": 8000, "url.path": "/v1/islands"}
    fresh = tracer.start_span("fresh")
    fresh.adopt_attributes(mine)
    assert fresh.attributes is mine  # no copy, no check: the caller hands its dict over
    fresh.set_attribute("http.route", "/v1/islands")
    fresh.end()
    # A span with attributes already, or too many: set_attributes' checks and bound, as the SDK.
    older = tracer.start_span("older", attributes={"a": 1})
    older.adopt_attributes({"b": None, "c": 3})  # None dropped by the SDK's check
    older.end()
    many = tracer.start_span("many")
    many.adopt_attributes({f"a{i}": i for i in range(200)})
    many.end()
    ended = tracer.start_span("ended")
    ended.end()
    ended.adopt_attributes({"late": 1})
    assert ended.attributes == {}  # an ended span takes no more
    done = {span.name: dict(span.attributes) for span in exporter.get_finished_spans()}
    assert done["fresh"] == {**mine, "http.route": "/v1/islands"}
    assert done["older"] == {"a": 1, "c": 3} and len(done["many"]) == 128 and done["ended"] == {}


def test_an_ended_span_reaches_the_processors_as_itself_a_readable_span():
    """end() hands the span itself (a ReadableSpan, as the SDK's own Span is) to the processors: what an
    exporter reads through ReadableSpan's properties is what the span was given."""
    from opentelemetry.sdk.trace import ReadableSpan

    tracer, exporter = lean()
    span = tracer.start_span("GET", kind=SpanKind.SERVER, attributes={"http.request.method": "GET"})
    span.add_event("cache.hit", {"cache": "vehicle"})
    span.end()
    [done] = exporter.get_finished_spans()
    assert done is span and isinstance(done, ReadableSpan)
    assert done.resource is RESOURCE and done.instrumentation_scope.name == "island-rides"
    assert done.events[0].name == "cache.hit" and done.links == () and done.dropped_attributes == 0
    assert done.to_json()  # the SDK's own JSON view works on it too


def test_start_child_is_start_span_under_that_parent():
    """start_child (the SQL and Redis client spans) gives the span start_span gives under the same parent,
    built without the checks: same trace, flags and state, parent link, adopted attributes."""
    tracer, exporter = lean(0.0)  # children follow the parent, whatever the ratio
    parent = NonRecordingSpan(SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True,
                                          TraceFlags(TraceFlags.SAMPLED), TraceState([("vendor", "x")])))
    attributes = {"db.system.name": "redis", "server.port": 6379}
    for seed in range(20):
        random.seed(seed)
        fast = tracer.start_child(parent, "GET", SpanKind.CLIENT, dict(attributes))
        random.seed(seed)
        slow = tracer.start_span("GET", context=trace.set_span_in_context(parent), kind=SpanKind.CLIENT,
                                 attributes=attributes)
        assert fast.get_span_context() == slow.get_span_context()
        assert fast.get_span_context().trace_state == slow.get_span_context().trace_state
        assert fast.get_span_context().is_valid and fast.is_recording()
        fast.end()
        slow.end()
    done = exporter.get_finished_spans()
    assert len(done) == 40
    assert all(s.parent == parent.get_span_context() and dict(s.attributes) == attributes
               and s.kind is SpanKind.CLIENT for s in done)


def test_start_child_of_an_unsampled_parent_or_with_too_many_attributes_takes_the_checked_way():
    tracer, exporter = lean(1.0)
    unsampled = NonRecordingSpan(SpanContext(0x1234, 0x5678, False, TraceFlags(TraceFlags.DEFAULT)))
    child = tracer.start_child(unsampled, "GET", SpanKind.CLIENT, {"a": 1})
    assert not child.is_recording() and child.get_span_context().trace_id == 0x1234
    sampled = tracer.start_span("GET")
    many = tracer.start_child(sampled, "MGET", SpanKind.CLIENT, {f"a{i}": i for i in range(200)})
    many.end()
    [done] = exporter.get_finished_spans()
    assert len(done.attributes) == 128
