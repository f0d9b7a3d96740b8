"""The access line: one ECS JSON line per HTTP request, built straight into its nested form.

This is the one log line every request writes, so it skips the generic processor chain (timestamp, level,
trace ids, exception, redaction of every field, dotted-name nesting) that ``configure_logging`` runs for
other lines. Most of a line repeats from one request to the next (level, message, service identity, path,
method, status, route, client address, User-Agent), so those parts are rendered once, redacted and
JSON-escaped by orjson, and remembered as byte fragments; a line then costs two dictionary lookups and
one bytes ``%`` format that adds the timestamp, sizes, duration, request id, user and trace ids. And the
request does not wait for even that: it hands the sink a tuple of the values, and the line is rendered
with the others when the sink writes them (``render``). A request that failed with an exception takes
the generic path instead (rare, and it needs the exception processor).
"""
from __future__ import annotations

import logging
from time import time
from typing import Any, Self

import orjson

from exporters.logs import setup
from exporters.logs.processors import ECS_VERSION, SECOND_CACHE
from exporters.logs.redact import has_card_length_digit_run, redact_text

_MEMO_MAX = 4096  # fragments remembered per memo; cleared when full (a flood of unique paths or agents)
_MEMO_MAX_LEN = 512  # longer paths / User-Agents are rendered every time
_dumps = orjson.dumps

# (level, method, path, status, route) -> (head, response, tail): every fragment of the line that depends
# on nothing else. The service identity is part of each head, so the memo is emptied when it changes.
_shapes: dict[tuple[str, str, str, int, str | None], tuple[bytes, bytes, bytes]] = {}
# (client ip, User-Agent) -> their fragment.
_clients: dict[tuple[str | None, str], bytes] = {}
_shapes_identity: list[Any] = [None]
_STATE = setup.STATE
_sink = setup.SINK
_clock = SECOND_CACHE

_LINE = (b'{"@timestamp":"%b.%03dZ%b%d}%b%b%d%b%b,"event":{"dataset":"island.access","duration":%d}%b}')
_LINE_TRACED = (b'{"@timestamp":"%b.%03dZ%b%d}%b%b%d%b%b,"event":{"dataset":"island.access","duration":%d}%b'
                b',"trace":{"id":"%b"},"span":{"id":"%b"}}')


def _remember(memo: dict[Any, Any], key: Any, value: Any, *texts: str) -> None:
    if all(len(text) <= _MEMO_MAX_LEN for text in texts):
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[key] = value


def _shape(identity: dict[str, Any], key: tuple[str, str, str, int, str | None]) -> tuple[bytes, bytes, bytes]:
    """The fixed fragments of a line (remembered under ``key``): from ``","log.level"`` to the request body
    size, from there to the response body size, and from there to the end of the ``http`` object."""
    if _shapes_identity[0] is not identity:
        _shapes.clear()
        _shapes_identity[0] = identity
        shape = None
    else:
        shape = _shapes.get(key)
    if shape is None:
        level, method, path, status, route = key
        safe_path = redact_text(path)
        head = (b'","log.level":"%b","message":%b,"ecs.version":"%b",%b,"log":{"logger":"access"},'
                b'"url":{"path":%b},"http":{"request":{"method":%b,"body":{"bytes":'
                % (level.encode(), _dumps(f"{method} {safe_path} {status}"), ECS_VERSION.encode(),
                   _dumps(identity)[1:-1], _dumps(safe_path), _dumps(method)))
        response = b'},"response":{"status_code":%d,"body":{"bytes":' % status
        tail = b"}}}" if route is None else b'}},"route":%b}' % _dumps(route)
        shape = (head, response, tail)
        _remember(_shapes, key, shape, path)
    return shape


def _client(client_ip: str | None, user_agent: str) -> bytes:
    fragment = b""
    if client_ip is not None:
        fragment += b',"client":{"ip":%b}' % _dumps(client_ip)
    if user_agent:
        fragment += b',"user_agent":{"original":%b}' % _dumps(redact_text(user_agent))
    _remember(_clients, (client_ip, user_agent), fragment, user_agent, client_ip or "")
    return fragment


def _plain(raw: bytes) -> bool:
    """Whether a request id's bytes can go into the line as they are: ASCII letters and digits (nothing to
    escape; bytes.isalnum() is ASCII only) with no run of 13 digits (which redaction would mask)."""
    return raw.isalnum() and not has_card_length_digit_run(raw)


class CheckedId(str):
    """A request id known to be ASCII letters and digits with no card-length run of digits: the access
    line writes it as it is, with no escaping nor redaction check. The check is made when one is built
    (pickle and copy included), so a CheckedId cannot hold anything else."""

    __slots__ = ()

    def __new__(cls, text: str) -> Self:
        if not _plain(text.encode()):
            raise ValueError(f"not a plain request id: {text!r}")
        return super().__new__(cls, text)


def checked_id(text: str) -> CheckedId | None:
    """``text`` as a ``CheckedId`` when it is ASCII letters and digits with no run of 13 digits (which
    the log redaction would mask as a possible card number), else None. An API that generates its request
    ids checks them here once, instead of every access line checking them again (about 40 Python opcodes
    a request, an opcode tracer in the real app)."""
    try:
        return CheckedId(text)
    except ValueError:
        return None


def _request_id(request_id: Any) -> bytes:
    """The ``"id"`` member of ``http.request``. The usual request id (ASCII letters and digits, as the API
    generates them) needs neither escaping nor redaction unless it holds a card-length run of digits;
    anything else goes through redaction and orjson."""
    if type(request_id) is str:
        raw = request_id.encode()
        if _plain(raw):
            return b',"id":"%b"' % raw
    return b',"id":%b' % _dumps(redact_text(str(request_id)))


def access_line(method: str, path: str, status: int, duration_s: float, route: str | None,
                client_ip: str | None, user_agent: str, user_id: Any, request_id: Any,
                traceparent: bytes | None, request_bytes: int, response_bytes: int,
                error: BaseException | None = None) -> None:
    """Log the access line of one request (level error for a 5xx or an exception, else info).
    ``traceparent`` is the request's ``tracing.traceparent_bytes`` value (its ids go into the line).

    The request pays for the level check, the clock and one tuple: the line is rendered (``render``) when
    the sink writes its gathered lines, every 20 ms, all of them in one go (``LineSink.write`` takes such a
    tuple). Rendered there, in a loop over 20-50 lines whose code and memos stay in the CPU's caches, a
    line costs a fraction of what it cost in the request, between the app's and the server's code: the
    in-process A/B of ``benchmarks.telemetry_ab`` ("access line rendered at once") prices the difference.
    A request that failed with an exception takes the generic path at once (rare, and it needs the
    exception processor).
    """
    failed = status >= 500 or error is not None
    state = _STATE
    if state.level > (logging.ERROR if failed else logging.INFO):
        return
    identity = state.identity
    if error is not None or identity is None:
        _generic("error" if failed else "info", method, redact_text(path), status, duration_s, route, client_ip,
                 user_agent, user_id, request_id, traceparent, request_bytes, response_bytes, error)
        return
    _sink.write((render, time(), identity, method, path, status, duration_s, route, client_ip, user_agent, user_id,
                 request_id, traceparent, request_bytes, response_bytes))


def render(item: tuple[Any, ...]) -> bytes:
    """The bytes of the access line ``access_line`` handed to the sink as ``item``.

    Written for the instruction count (callgrind counts per call are in the README's telemetry cost
    section): the memo hits are inlined and the line is one bytes ``%`` format. The bytes equal
    ``orjson.dumps`` of the nested document (tests/telemetry/test_logs.py compares them).
    """
    (_, now, identity, method, path, status, duration_s, route, client_ip, user_agent, user_id, request_id,
     traceparent, request_bytes, response_bytes) = item
    key = ("error" if status >= 500 else "info", method, path, status, route)
    shape = _shapes.get(key) if _shapes_identity[0] is identity else None
    head, response, tail = shape or _shape(identity, key)
    client = _clients.get((client_ip, user_agent)) or _client(client_ip, user_agent)
    if request_id is None:
        request = b""
    elif type(request_id) is CheckedId:
        request = b',"id":"%b"' % request_id.encode()
    else:
        request = _request_id(request_id)
    if user_id is None:
        user = b""
    elif type(user_id) is int:
        user = b',"user":{"id":"%d"}' % user_id
    else:
        user = b',"user":{"id":%b}' % _dumps(str(user_id))
    second = int(now)  # format_timestamp(now), inlined: the cached second as bytes and the milliseconds
    if second != _clock.second:
        _clock.refresh(second)
    prefix, millis = _clock.prefix_bytes, int((now - second) * 1000)
    if traceparent is None:
        return _LINE % (prefix, millis, head, request_bytes, request, response, response_bytes, tail, client,
                        int(duration_s * 1e9), user)
    return _LINE_TRACED % (prefix, millis, head, request_bytes, request, response, response_bytes, tail, client,
                           int(duration_s * 1e9), user, traceparent[3:35], traceparent[36:52])


def _generic(level: str, method: str, path: str, status: int, duration_s: float, route: str | None,
             client_ip: str | None, user_agent: str, user_id: Any, request_id: Any, traceparent: bytes | None,
             request_bytes: int, response_bytes: int, error: BaseException | None) -> None:
    fields: dict[str, Any] = {
        "event": f"{method} {path} {status}", "log.logger": "access", "event.dataset": "island.access",
        "http.request.method": method, "url.path": path, "http.response.status_code": status,
        "event.duration": int(duration_s * 1e9), "http.request.body.bytes": request_bytes,
        "http.response.body.bytes": response_bytes,
    }
    trace_id = span_id = None
    if traceparent is not None:
        trace_id, span_id = traceparent[3:35].decode("ascii"), traceparent[36:52].decode("ascii")
    optional = {"http.route": route, "client.ip": client_ip, "user_agent.original": user_agent or None,
                "user.id": None if user_id is None else str(user_id), "http.request.id": request_id,
                "trace.id": trace_id, "span.id": span_id}
    fields.update({k: v for k, v in optional.items() if v is not None})
    if isinstance(error, Exception):
        fields["exc_info"] = error
    setup.emit(level, fields)
