"""``configure_logging``: structlog and the stdlib ``logging`` root, both to one ECS JSON-lines sink.

The sink writes each line with one ``os.write`` to stdout and one to ``$LOG_DIR/<service>.log`` opened
``O_APPEND``: no Python-level buffering (a crash loses nothing), and lines from several workers appending
to the same file never interleave (a single append write is atomic for a regular file on Linux).
"""
from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from exporters.config import DEFAULT_LOG_FLUSH_MS
from exporters.logs.processors import (
    EcsRenderer,
    add_log_level,
    add_timestamp,
    add_trace_ids,
    format_exception_info,
    render_plain,
)
from exporters.logs.redact import redact_secrets

Processor = Callable[[Any, str, dict[str, Any]], Any]
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}


_MAIN_THREAD = threading.main_thread().ident


DEFAULT_FLUSH_INTERVAL_S = DEFAULT_LOG_FLUSH_MS / 1000  # ISLAND_LOG_FLUSH_MS's default, one number for both
MAX_PENDING_LINES = 256  # written at once past this many, whatever the interval: a burst stays bounded


class LineSink:
    """Where log lines go: a list of file descriptors. A line comes rendered (bytes) or as a tuple that
    renders it when it is written (``write``): the access line, whose rendering costs the request less
    there (``exporters.logs.access``).

    On the event loop, lines are gathered and written together ``flush_interval_s`` after the first of
    them (``call_later``; at 0, at the end of the loop iteration, ``call_soon``), or at once when
    ``MAX_PENDING_LINES`` are waiting: one ``write`` per file for all of them. Writes are the dearest part
    of a log line here: an append to a file costs its system call and the file system's update of the
    inode. Per loop iteration (2-3 lines a write on the vehicle detail under wrk -c16) the two writes
    cost 1-2 % of the request's CPU, and gathering 20 ms of lines (20-50 a write) saved 0.3-2 % of it in
    three runs (in-process A/B, 27 Nov 2026: the README's telemetry cost section). The price: a line reaches its files up to 20 ms
    after it is logged, and a process killed with SIGKILL loses at most the last 20 ms of lines (a normal
    exit writes them: ``atexit``). Off the loop (threads, start-up, shutdown) each line is written at once,
    after the lines gathered before it.

    Only the first line of a batch asks ``asyncio.get_running_loop()``: CPython checks the loop's
    process id with a ``getpid()`` system call on every call, which showed as 3.8 % of the API's main
    thread under wrk (py-spy, trivial endpoint, full telemetry; strace counted one getpid per request).
    The lines after it only check that the loop their flush is scheduled on is still running: on the main
    thread, a running loop is the one this code runs in.
    """

    def __init__(self, fds: list[int], flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S) -> None:
        self.fds = fds
        self.flush_interval_s = flush_interval_s
        self._pending: list[bytes | tuple[Any, ...]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_lock = threading.RLock()  # reentrant: a rendering that logs must not deadlock

    def write(self, line: bytes | tuple[Any, ...]) -> None:
        """Write ``line``: its bytes, or a tuple whose first item renders it (``item[0](item)`` gives the
        bytes), called when the line is written (the access line, see ``exporters.logs.access``)."""
        scheduled = self._loop
        pending = self._pending
        if scheduled is not None and threading.get_ident() == _MAIN_THREAD and scheduled.is_running():
            pending.append(line)  # a flush is already scheduled on the loop this line is logged from
            if len(pending) >= MAX_PENDING_LINES:
                self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or threading.get_ident() != _MAIN_THREAD:
            self.flush(then=line)
            return
        pending.append(line)
        if self._loop is not loop:
            self._loop = loop
            if self.flush_interval_s > 0:
                loop.call_later(self.flush_interval_s, self._scheduled_flush, loop)
            else:
                loop.call_soon(self._scheduled_flush, loop)

    def _scheduled_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        # A flush scheduled before an early one (MAX_PENDING_LINES) may find lines whose own flush is
        # scheduled later: it writes them too, sooner is no harm.
        if self._loop is loop:
            self.flush()

    def flush(self, then: bytes | tuple[Any, ...] | None = None) -> None:
        """Write every gathered line now (and ``then`` after them).

        Lines are appended from the loop's thread without a lock; a flush takes the lines it found and
        deletes just those, so a line appended while it renders stays for the next flush. The lock keeps
        two flushes (the loop's and another thread's) from writing the same lines twice.
        """
        with self._flush_lock:
            self._loop = None
            pending = self._pending
            count = len(pending)
            if count or then is not None:
                lines = pending[:count]
                del pending[:count]
                if then is not None:
                    lines.append(then)
                self._write_all(_rendered(lines))

    def _write_all(self, data: bytes) -> None:
        for fd in self.fds:
            try:
                os.write(fd, data)
            except OSError:
                pass  # a closed stdout or a full disk must not take the request down with it


def _rendered(lines: list[bytes | tuple[Any, ...]]) -> bytes:
    """``lines`` as the bytes to write, one per line, the tuples rendered. A tuple whose rendering fails
    becomes a line that says so and holds the tuple's values: it is still written, and says why."""
    out: list[bytes] = []
    for line in lines:
        if isinstance(line, tuple):
            try:
                line = line[0](line)
            except Exception as exc:  # noqa: BLE001 - whatever it is, the line is written and says why
                line = _unrenderable(line, exc)
        out.append(line)
    out.append(b"")
    return b"\n".join(out)


def _unrenderable(item: tuple[Any, ...], exc: Exception) -> bytes:
    """The error line that stands for ``item``, whose rendering raised ``exc``: through the configured
    chain like any other line (identity, trace ids, redaction of every field), or the minimal one when
    logging is not configured. ``str``/``repr`` that raise in turn give a placeholder, so that this line
    cannot fail and take the lines flushed with it down."""
    def shown(show: Callable[[Any], str], value: Any) -> str:
        try:
            return show(value)
        except Exception:  # noqa: BLE001 - see above
            return "(could not be shown)"

    fields = {"event": "a log line could not be rendered", "error.type": type(exc).__name__,
              "error.message": shown(str, exc), "event.original": shown(repr, item[1:])}
    return _through_chain(_CHAIN or _PLAIN_CHAIN, "error", fields)  # type: ignore[no-any-return]


def line_bytes(line: bytes | tuple[Any, ...]) -> bytes:
    """One line as ``LineSink`` writes it, without the newline: its bytes, or its tuple rendered."""
    return _rendered([line])[:-1]


class SinkLogger:
    """The structlog "logger" at the end of the chain: hands the rendered bytes to the sink."""

    def __init__(self, sink: LineSink) -> None:
        self._sink = sink

    def msg(self, line: bytes) -> None:
        self._sink.write(line)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class SinkLoggerFactory:
    def __init__(self, sink: LineSink) -> None:
        self._logger = SinkLogger(sink)

    def __call__(self, *args: Any) -> SinkLogger:
        return self._logger


# Not fields of the event: the LogRecord's own attributes, and uvicorn's "color_message" (its message again,
# with terminal colour codes, for its own console formatter).
_RECORD_ATTRIBUTES = (frozenset(logging.makeLogRecord({}).__dict__)
                      | {"message", "asctime", "taskName", "color_message"})


class StdlibBridge(logging.Handler):
    """A ``logging`` handler that runs records through the same processor chain (uvicorn's loggers, ...)."""

    def __init__(self, chain: list[Processor], sink: LineSink) -> None:
        super().__init__()
        self.chain = chain
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event: Any = {"event": record.getMessage(), "log.logger": record.name,
                          "log.level": record.levelname.lower()}
            for key, value in record.__dict__.items():  # fields given with extra={...}
                if key not in _RECORD_ATTRIBUTES:
                    event.setdefault(key, value)
            if record.exc_info:
                event["exc_info"] = record.exc_info
            method = record.levelname.lower()
            for processor in self.chain:
                event = processor(None, method, event)
            self.sink.write(event)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def parse_level(level: str | int) -> int:
    """A level name (any case) or number as a ``logging`` level; ValueError names the bad value."""
    if isinstance(level, int):
        return level
    try:
        return LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(f"LOG_LEVEL: {level!r} is not one of {', '.join(LEVELS)}") from None


def ecs_chain(service_name: str, service_version: str) -> list[Processor]:
    """The processor list behind every ECS line; redaction runs last before rendering so that nothing
    added by an earlier step (an exception message, a stack trace) escapes it."""
    return [
        structlog.contextvars.merge_contextvars,
        add_timestamp,
        add_log_level,
        add_trace_ids,
        format_exception_info,
        redact_secrets,
        EcsRenderer(service_name, service_version),
    ]


def plain_chain() -> list[Processor]:
    """The minimal chain of ISLAND_TELEMETRY=off: level and message, no ECS, no trace ids, no file."""
    return [structlog.processors.add_log_level, redact_secrets, render_plain]


STDOUT_FD = 1  # the process's standard output, not sys.stdout (which test runners and tools replace)


def _open_fds(log_dir: Path | str | None, file_name: str, stdout: bool) -> list[int]:
    fds = [STDOUT_FD] if stdout else []
    if log_dir is not None:
        directory = Path(log_dir)
        directory.mkdir(parents=True, exist_ok=True)
        fds.append(os.open(directory / file_name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640))
    return fds


# One sink and one chain per process, changed in place by each configure_logging call: structlog loggers
# cached on first use (module-level ``log = structlog.get_logger()``) keep references to both.
SINK = LineSink([])  # also for writers of hand-built lines (the access line): ``SINK.write(line)``
atexit.register(SINK.flush)
_CHAIN: list[Processor] = []
_PLAIN_CHAIN = plain_chain()  # for a line the sink makes itself before logging is configured


class LogState:
    """What writers of hand-built lines read on every line, as plain attributes (an attribute load is a
    fraction of a function call, and the access line runs once per request)."""

    __slots__ = ("identity", "level")

    def __init__(self) -> None:
        self.level = logging.INFO  # the configured minimum level (a ``logging`` number)
        # ``{"service": {...}, "process": {"pid": ...}}`` of ECS lines; None when ECS is off. A new object
        # at each configure_logging call, so writers may cache what they derive from it by identity.
        self.identity: dict[str, Any] | None = None


STATE = LogState()


def flush_logs() -> None:
    """Write out the lines gathered and not yet written (tests reading the file, exit)."""
    SINK.flush()


def emit(method_name: str, event_dict: dict[str, Any]) -> None:
    """Log one event through the configured chain without a structlog logger: the access log's path,
    which saves the bound logger's per-call work (about 4 us a line, measured).
    ``method_name`` is the level name ("info", "error", ...)."""
    if LEVELS.get(method_name, logging.INFO) < STATE.level or not _CHAIN:
        return
    SINK.write(_through_chain(_CHAIN, method_name, event_dict))


def _through_chain(chain: list[Processor], method_name: str, event_dict: dict[str, Any]) -> Any:
    """``event_dict`` run through the processors of ``chain``: the rendered line when the chain ends in a
    renderer."""
    event: Any = event_dict
    for processor in chain:
        event = processor(None, method_name, event)
    return event


def configure_logging(service_name: str, service_version: str, log_dir: Path | str | None,
                      level: str | int = "info", stdout: bool = True, *, ecs: bool = True,
                      log_file: str | None = None,
                      flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S) -> LineSink:
    """Send structlog and stdlib logging, as ECS JSON lines, to stdout and ``log_dir/<service_name>.log``
    (``log_file`` overrides the file name; ``log_dir=None`` writes no file). Lines logged on the event
    loop are written ``flush_interval_s`` after the first of them (``LineSink``).

    ``ecs=False`` is the ``ISLAND_TELEMETRY=off`` mode: a minimal JSON line to stdout only. Calling it
    again replaces the previous configuration (and closes the previous log file).
    """
    numeric_level = parse_level(level)
    if flush_interval_s < 0:  # checked with the level, before anything is changed
        raise ValueError(f"log flush interval: {flush_interval_s} is negative")
    STATE.level = numeric_level
    STATE.identity = ({"service": {"name": service_name, "version": service_version},
                       "process": {"pid": os.getpid()}}
                      if ecs else None)
    SINK.flush()
    SINK.flush_interval_s = flush_interval_s
    old_fds = SINK.fds
    SINK.fds = _open_fds(log_dir if ecs else None, log_file or f"{service_name}.log", stdout)
    _close(old_fds)
    _CHAIN[:] = ecs_chain(service_name, service_version) if ecs else plain_chain()
    structlog.configure(
        processors=_CHAIN,  # type: ignore[arg-type]  # our processors take plain dicts
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=SinkLoggerFactory(SINK),
        cache_logger_on_first_use=True,
    )
    _route_stdlib(StdlibBridge(_CHAIN, SINK), numeric_level)
    return SINK


def _route_stdlib(handler: logging.Handler, level: int) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StdlibBridge)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn installs its own handlers; its lines go through ours instead. Its access log duplicates the
    # telemetry middleware's access line, so it is silenced.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _close(fds: list[int]) -> None:
    """Close the log files this module opened (never standard output)."""
    for fd in fds:
        if fd != STDOUT_FD:
            try:
                os.close(fd)
            except OSError:
                pass
