"""PostgreSQL from the API's side: a span and a duration sample per SQL statement, and pool gauges.

``InstrumentedAsyncCursor`` is a psycopg 3 cursor class: a pool created with
``kwargs={"cursor_factory": InstrumentedAsyncCursor}`` gets it for every ``conn.execute`` and
``conn.cursor()``. Each statement is summarised once (cached by its text) into a low-cardinality
operation and collection (``SELECT`` / ``vehicles``), which name the span (``SELECT vehicles``) and label
``db_client_operation_duration_seconds``. Spans are only opened under a sampled (recording) parent, so an
unsampled request pays for two clock reads and a histogram sample per statement.

``watch_pool(pool)`` publishes psycopg_pool's ``get_stats()`` as gauges and counters at every scrape (and
every few seconds from the request path, for multiprocess mode).
"""
from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from opentelemetry.trace import SpanKind, Status, StatusCode

from exporters import exposition, metrics, tracing
from exporters.logs.processors import error_type_name

_FIRST_WORD = re.compile(r"\s*(?:/\*.*?\*/\s*)*(\w+)", re.DOTALL)
_CTE_MAIN = re.compile(r"\)\s*(SELECT|INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_TARGET = {
    "SELECT": re.compile(r"\bFROM\s+([\w.\"]+)", re.IGNORECASE),
    "DELETE": re.compile(r"\bFROM\s+([\w.\"]+)", re.IGNORECASE),
    "INSERT": re.compile(r"\bINTO\s+([\w.\"]+)", re.IGNORECASE),
    "UPDATE": re.compile(r"\bUPDATE\s+(?:ONLY\s+)?([\w.\"]+)", re.IGNORECASE),
    "MERGE": re.compile(r"\bINTO\s+([\w.\"]+)", re.IGNORECASE),
}
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_NUMBER_LITERAL = re.compile(r"(?<![\w$])-?\d+(?:\.\d+)?\b")
_MAX_CACHED = 2048


class QuerySummary:
    """What the telemetry keeps of one SQL text: operation, collection, span name, sanitised text."""

    __slots__ = ("children", "collection", "operation", "span_name", "text")

    def __init__(self, sql: str) -> None:
        self.operation, self.collection = summarize(sql)
        self.span_name = f"{self.operation} {self.collection}" if self.collection else self.operation
        self.text = sanitize(sql)
        self.children: dict[str, Any] = {}

    def histogram(self, outcome: str) -> Any:
        child = self.children.get(outcome)
        if child is None:
            child = self.children[outcome] = metrics.db_client_operation_duration.labels(
                "postgresql", self.operation, self.collection, outcome)
        return child


def summarize(sql: str) -> tuple[str, str]:
    """(operation, collection) of a SQL statement: ``("SELECT", "vehicles")``; collection may be ""."""
    match = _FIRST_WORD.match(sql)
    if match is None:
        return "UNKNOWN", ""
    operation = match.group(1).upper()
    if operation == "WITH":
        mains = _CTE_MAIN.findall(sql)
        operation = mains[-1].upper() if mains else "WITH"
    pattern = _TARGET.get(operation)
    target = pattern.search(sql) if pattern else None
    return operation, (target.group(1).replace('"', "") if target else "")


def sanitize(sql: str) -> str:
    """The statement with literal values replaced by ``?`` (placeholders carry the parameters anyway)."""
    return _NUMBER_LITERAL.sub("?", _STRING_LITERAL.sub("?", " ".join(sql.split())))


_summaries: dict[str, QuerySummary] = {}


def summary_of(query: Any, cursor: Any) -> QuerySummary:
    """The cached summary of ``query`` (a str, bytes or a psycopg.sql object)."""
    if isinstance(query, str):
        text = query
    elif isinstance(query, bytes):
        text = query.decode("utf-8", "replace")
    else:
        text = query.as_string(cursor)
    summary = _summaries.get(text)
    if summary is None:
        summary = QuerySummary(text)
        if len(_summaries) < _MAX_CACHED:
            _summaries[text] = summary
    return summary


class InstrumentedAsyncCursor(psycopg.AsyncCursor):  # type: ignore[type-arg]
    """An AsyncCursor that times each statement and opens a client span under a sampled parent."""

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return await self._measured(query, super().execute, query, params, **kwargs)

    async def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        await self._measured(query, super().executemany, query, params_seq, **kwargs)

    async def _measured(self, query: Any, run: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """Await ``run(*args, **kwargs)`` (the cursor's own execute/executemany), timed and traced as ``query``."""
        summary = summary_of(query, self)
        parent = tracing.recording_span()
        span = None if parent is None else _start_span(parent, summary, self.connection)
        start = time.perf_counter()
        outcome = "success"
        try:
            return await run(*args, **kwargs)
        except BaseException as exc:
            outcome = "error"
            if span is not None:
                _fail(span, exc)
            raise
        finally:
            summary.histogram(outcome).observe(time.perf_counter() - start)
            if span is not None:
                span.end()


def _start_span(parent: Any, summary: QuerySummary, connection: Any) -> Any:
    """The client span of one statement under ``parent``, the current recording span. Every value is a
    str or an int (psycopg's ConnectionInfo types them so), as ``tracing.start_child_span`` requires."""
    attributes: dict[str, Any] = {
        "db.system.name": "postgresql",
        "db.operation.name": summary.operation,
        "db.query.text": summary.text,
    }
    if summary.collection:
        attributes["db.collection.name"] = summary.collection
    info = connection.info
    attributes["db.namespace"] = info.dbname
    attributes["server.address"] = info.host
    attributes["server.port"] = info.port
    return tracing.start_child_span(parent, summary.span_name, SpanKind.CLIENT, attributes)


def _fail(span: Any, exc: BaseException) -> None:
    span.set_attribute("error.type", error_type_name(type(exc)))
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate:
        span.set_attribute("db.response.status_code", sqlstate)
    span.set_status(Status(StatusCode.ERROR, str(exc)))


class PoolWatcher:
    """Copies one psycopg_pool pool's statistics into the pool metrics (gauges set, counters by delta)."""

    def __init__(self, pool: Any, name: str) -> None:
        self.pool = pool
        self.name = name
        self.seen = {"requests_num": 0, "requests_wait_ms": 0, "requests_errors": 0}

    def __call__(self) -> None:
        stats = self.pool.get_stats()
        size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
        metrics.db_client_connection_usage.labels(self.name, "idle").set(available)
        metrics.db_client_connection_usage.labels(self.name, "used").set(max(size - available, 0))
        metrics.db_client_connection_max.labels(self.name).set(stats.get("pool_max", 0))
        metrics.db_client_connection_pending_requests.labels(self.name).set(stats.get("requests_waiting", 0))
        for key, counter, scale in (("requests_num", metrics.db_client_connection_requests, 1),
                                    ("requests_wait_ms", metrics.db_client_connection_wait_time, 1e-3),
                                    ("requests_errors", metrics.db_client_connection_timeouts, 1)):
            value = stats.get(key, 0)
            delta = value - self.seen[key]
            if delta < 0:  # someone called pop_stats(): the counter restarted from zero
                delta = value
            if delta:
                counter.labels(self.name).inc(delta * scale)
            self.seen[key] = value


def watch_pool(pool: Any, name: str = "main") -> PoolWatcher:
    """Publish ``pool``'s statistics (psycopg_pool AsyncConnectionPool/ConnectionPool) as metrics."""
    watcher = PoolWatcher(pool, name)
    exposition.on_scrape(f"db_pool:{name}", watcher)
    return watcher
