"""Redis from the API's side: a client span per command (under a sampled parent) and a duration sample.

``instrument_redis(client)`` wraps one ``redis.asyncio.Redis`` instance (not the class: the agent's Redis
check and any other client stay untouched): its ``execute_command`` and the ``execute`` of the pipelines
it makes. Command names are the low-cardinality operation (``GET``, ``SET``, ``PIPELINE``); arguments
(keys, values) never reach a span or a label.
"""
from __future__ import annotations

import functools
from time import perf_counter
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode

from exporters import metrics, tracing
from exporters.logs.processors import error_type_name

_children: dict[tuple[str, str], Any] = {}


def _histogram(operation: str, outcome: str) -> Any:
    key = (operation, outcome)
    child = _children.get(key)
    if child is None:
        child = metrics.db_client_operation_duration.labels("redis", operation, "", outcome)
        if len(_children) < 1024:
            _children[key] = child
    return child


_command_names: dict[Any, str] = {}


def _command_name(args: tuple[Any, ...]) -> str:
    if not args:
        return "UNKNOWN"
    first = args[0]
    name = _command_names.get(first)  # the client's command names are a small fixed set
    if name is None:
        text = first.decode("ascii", "replace") if isinstance(first, bytes) else str(first)
        # Two-word commands ("CLIENT SETNAME") arrive as one string; keep the first word only.
        name = text.split(" ", 1)[0].upper()[:32]
        if len(_command_names) < 256 and isinstance(first, (str, bytes)):
            _command_names[first] = name
    return name


_ATTRIBUTE_TYPES = (str, bool, int, float)


def _server_attributes(client: Any) -> dict[str, Any]:
    """The attributes every span of ``client`` shares, checked once here (host and port come from the
    user's configuration): str, bool, int and float values only, as ``tracing.start_child_span`` takes
    them without a check."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {}) or {}
    attributes: dict[str, Any] = {"db.system.name": "redis", "db.namespace": str(kwargs.get("db", 0))}
    if "host" in kwargs:
        attributes["server.address"] = kwargs["host"]
        attributes["server.port"] = kwargs.get("port", 6379)
    return {key: value for key, value in attributes.items() if type(value) in _ATTRIBUTE_TYPES}


def _start(parent: Any, operation: str, base: dict[str, Any]) -> Any:
    """The client span of one command under ``parent``, the current recording span."""
    return tracing.start_child_span(parent, operation, SpanKind.CLIENT, {**base, "db.operation.name": operation})


def _finish(span: Any, operation: str, start: float, error: BaseException | None) -> None:
    _histogram(operation, "success" if error is None else "error").observe(perf_counter() - start)
    if span is not None:
        if error is not None:
            span.set_attribute("error.type", error_type_name(type(error)))
            span.set_status(Status(StatusCode.ERROR, str(error)))
        span.end()


def instrument_redis(client: Any) -> Any:
    """Trace and time every command of ``client`` (a redis.asyncio.Redis); returns the same client."""
    if getattr(client, "_island_instrumented", False):
        return client
    base = _server_attributes(client)
    execute_command = client.execute_command
    make_pipeline = client.pipeline

    # One coroutine per command (no inner helper coroutine to await): this wraps every Redis call. The
    # usual case (an unsampled request, a successful command) is inlined: the command name and the
    # histogram child come from caches, and no helper is called.
    @functools.wraps(execute_command)
    async def traced_execute_command(*args: Any, **options: Any) -> Any:
        operation = _command_names.get(args[0]) if args else None
        if operation is None:
            operation = _command_name(args)
        parent = tracing.recording_span()
        span = None if parent is None else _start(parent, operation, base)
        start = perf_counter()
        try:
            result = await execute_command(*args, **options)
        except BaseException as exc:
            _finish(span, operation, start, exc)
            raise
        if span is None:
            child = _children.get((operation, "success")) or _histogram(operation, "success")
            child.observe(perf_counter() - start)
        else:
            _finish(span, operation, start, None)
        return result

    @functools.wraps(make_pipeline)
    def traced_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = make_pipeline(*args, **kwargs)
        execute = pipe.execute

        async def traced_execute(*eargs: Any, **ekwargs: Any) -> Any:
            parent = tracing.recording_span()
            span = None if parent is None else _start(parent, "PIPELINE", base)
            start = perf_counter()
            try:
                result = await execute(*eargs, **ekwargs)
            except BaseException as exc:
                _finish(span, "PIPELINE", start, exc)
                raise
            _finish(span, "PIPELINE", start, None)
            return result

        pipe.execute = traced_execute
        return pipe

    client.execute_command = traced_execute_command
    client.pipeline = traced_pipeline
    client._island_instrumented = True
    return client
