"""Redis from the API's side: a client span per command (under a sampled parent) and a duration sample.

``instrument_redis(client)`` wraps one ``redis.asyncio.Redis`` instance (not the class: the agent's Redis
check and any other client stay untouched): its ``execute_command`` and the ``execute`` of the pipelines
it makes. Command names are the low-cardinality operation (``GET``, ``SET``, ``PIPELINE``); arguments
(keys, values) never reach a span or a label.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
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


def _command_name(args: tuple[Any, ...]) -> str:
    if not args:
        return "UNKNOWN"
    name = args[0]
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    # Two-word commands ("CLIENT SETNAME") arrive as one string; keep the first word only.
    return str(name).split(" ", 1)[0].upper()[:32]


def _server_attributes(client: Any) -> dict[str, Any]:
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {}) or {}
    attributes: dict[str, Any] = {"db.system.name": "redis", "db.namespace": str(kwargs.get("db", 0))}
    if "host" in kwargs:
        attributes["server.address"] = kwargs["host"]
        attributes["server.port"] = kwargs.get("port", 6379)
    return attributes


async def _traced(call: Callable[..., Any], operation: str, base: dict[str, Any], *args: Any,
                  **kwargs: Any) -> Any:
    span = None
    if trace.get_current_span().is_recording():
        span = tracing.get_tracer().start_span(
            operation, kind=SpanKind.CLIENT, attributes={**base, "db.operation.name": operation})
    start = time.perf_counter()
    outcome = "success"
    try:
        return await call(*args, **kwargs)
    except BaseException as exc:
        outcome = "error"
        if span is not None:
            span.set_attribute("error.type", error_type_name(type(exc)))
            span.set_status(Status(StatusCode.ERROR, str(exc)))
        raise
    finally:
        _histogram(operation, outcome).observe(time.perf_counter() - start)
        if span is not None:
            span.end()


def instrument_redis(client: Any) -> Any:
    """Trace and time every command of ``client`` (a redis.asyncio.Redis); returns the same client."""
    if getattr(client, "_island_instrumented", False):
        return client
    base = _server_attributes(client)
    execute_command = client.execute_command
    make_pipeline = client.pipeline

    @functools.wraps(execute_command)
    async def traced_execute_command(*args: Any, **options: Any) -> Any:
        return await _traced(execute_command, _command_name(args), base, *args, **options)

    @functools.wraps(make_pipeline)
    def traced_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = make_pipeline(*args, **kwargs)
        execute = pipe.execute

        async def traced_execute(*eargs: Any, **ekwargs: Any) -> Any:
            return await _traced(execute, "PIPELINE", base, *eargs, **ekwargs)

        pipe.execute = traced_execute
        return pipe

    client.execute_command = traced_execute_command
    client.pipeline = traced_pipeline
    client._island_instrumented = True
    return client
