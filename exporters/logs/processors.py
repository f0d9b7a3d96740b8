"""structlog processors that turn a log call into one Elastic Common Schema JSON line.

Each is a plain ``(logger, method_name, event_dict) -> event_dict`` function (or a small callable class),
testable alone. Callers log ECS names as dotted keyword arguments
(``log.info("booking confirmed", **{"booking.id": 7})``); the renderer nests them the way
ecs-logging-python and the ecs-logging spec do: ``@timestamp``, ``log.level``, ``message`` and
``ecs.version`` stay dotted at the top level, every other dotted name becomes nested objects
(``{"trace": {"id": ...}}``), which Elasticsearch indexes exactly like the dotted form.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from types import TracebackType
from typing import Any

import orjson
from opentelemetry import trace

ECS_VERSION = "8.11.0"
_LEVEL_NAMES = {"warn": "warning", "exception": "error", "fatal": "critical", "msg": "info", "log": "info"}
_TOP_LEVEL = ("@timestamp", "log.level", "message", "ecs.version")


class _SecondCache:
    """Formats UTC timestamps as ISO 8601 with milliseconds; the seconds part is reused within a second."""

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""
        self.prefix_bytes = b""

    def format(self, now: float) -> str:
        second = int(now)
        if second != self.second:
            self.refresh(second)
        return f"{self.prefix}.{int((now - second) * 1000):03d}Z"

    def refresh(self, second: int) -> None:
        """Make ``second`` (Unix seconds) the cached one."""
        self.second = second
        self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        self.prefix_bytes = self.prefix.encode()


SECOND_CACHE = _SecondCache()  # also read by the access line, which formats its timestamp inline


def format_timestamp(now: float) -> str:
    """``now`` (Unix seconds) as ECS ``@timestamp``: ``2026-11-25T19:15:00.123Z``."""
    return SECOND_CACHE.format(now)




def add_timestamp(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Set ``@timestamp`` (UTC, milliseconds) unless the caller gave one."""
    if "@timestamp" not in event_dict:
        event_dict["@timestamp"] = SECOND_CACHE.format(time.time())
    return event_dict


def add_log_level(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Set ``log.level`` from the method called (``warn`` -> ``warning``, ``exception`` -> ``error``)."""
    if "log.level" not in event_dict:
        event_dict["log.level"] = event_dict.pop("level", None) or _LEVEL_NAMES.get(method_name, method_name)
    return event_dict


def add_trace_ids(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Set ``trace.id`` / ``span.id`` from the current OpenTelemetry span, sampled or not."""
    if "trace.id" not in event_dict:
        ctx = trace.get_current_span().get_span_context()
        if ctx.trace_id:
            event_dict["trace.id"] = format(ctx.trace_id, "032x")
            event_dict["span.id"] = format(ctx.span_id, "016x")
    return event_dict


def _exception_of(exc_info: Any) -> tuple[type[BaseException], BaseException, TracebackType | None] | None:
    if isinstance(exc_info, BaseException):
        return type(exc_info), exc_info, exc_info.__traceback__
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and exc_info[1] is not None:
        return exc_info  # type: ignore[return-value]
    if exc_info:
        info = sys.exc_info()
        if info[1] is not None:
            return info  # type: ignore[return-value]
    return None


def error_type_name(exc_type: type[BaseException]) -> str:
    """``module.QualName`` of an exception class (builtins without a module prefix)."""
    module = exc_type.__module__
    return exc_type.__qualname__ if module == "builtins" else f"{module}.{exc_type.__qualname__}"


def format_exception_info(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Turn ``exc_info`` into ECS ``error.type``, ``error.message`` and ``error.stack_trace``."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info is None:
        return event_dict
    info = _exception_of(exc_info)
    if info is not None:
        exc_type, exc, tb = info
        event_dict["error.type"] = error_type_name(exc_type)
        event_dict["error.message"] = str(exc)
        event_dict["error.stack_trace"] = "".join(traceback.format_exception(exc_type, exc, tb))
    return event_dict


# key -> (parent names, leaf name), or None for a key without a dot; computed once per field name.
_plans: dict[str, tuple[tuple[str, ...], str] | None] = {}


def _plan(key: str) -> tuple[tuple[str, ...], str] | None:
    if "." not in key:
        plan = None
    else:
        *parents, leaf = key.split(".")
        plan = (tuple(parents), leaf)
    if len(_plans) < 4096:
        _plans[key] = plan
    return plan


def nest_dotted(flat: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
    """Add each ``a.b.c`` key of ``flat`` to ``into`` as nested objects; a key whose path is taken by a
    non-object value stays dotted rather than losing either value."""
    plans = _plans
    for key, value in flat.items():
        plan = plans[key] if key in plans else _plan(key)
        if plan is None:
            existing = into.get(key)
            if type(existing) is dict and type(value) is dict:
                existing.update(value)
            else:
                into[key] = value
            continue
        node: Any = into
        for part in plan[0]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif type(child) is not dict:
                node = None
                break
            node = child
        if node is None:
            into[key] = value
        else:
            node[plan[1]] = value
    return into


class EcsRenderer:
    """Final processor: the event dict as one ECS JSON line (bytes, no newline)."""

    def __init__(self, service_name: str, service_version: str) -> None:
        self.service = {"name": service_name, "version": service_version}
        self.pid = os.getpid()  # tells the workers of ``serve --workers N`` apart

    def __call__(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> bytes:
        event_dict.pop("_record", None)
        event_dict.pop("_from_structlog", None)
        message = event_dict.pop("event", "")
        out: dict[str, Any] = {
            "@timestamp": event_dict.pop("@timestamp", None) or format_timestamp(time.time()),
            "log.level": event_dict.pop("log.level", "info"),
            "message": message if isinstance(message, str) else str(message),
            "ecs.version": ECS_VERSION,
            "service": dict(self.service),
            "process": {"pid": self.pid},
        }
        event_dict.pop("ecs.version", None)
        nest_dotted(event_dict, out)
        return orjson.dumps(out, default=repr, option=orjson.OPT_NON_STR_KEYS)


def render_plain(logger: Any, method_name: str, event_dict: dict[str, Any]) -> bytes:
    """The minimal renderer used with ``ISLAND_TELEMETRY=off``: the event dict as JSON, nothing added."""
    return orjson.dumps(event_dict, default=repr, option=orjson.OPT_NON_STR_KEYS)
