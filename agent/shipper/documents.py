"""Turning log lines into bulk ``create`` items, as bytes, without re-serialising good lines.

A line that parses as a JSON object is sent as it is; fields it lacks (``host.name``, ``service.name``,
``log.file.path``, ``log.offset``, and ``@timestamp``, which data streams require) are spliced in right after
its opening brace. The parse (orjson, ~1.5 µs for a 400-byte line) is only a check and a few dict lookups;
dumping the dict again would cost about as much once more and could change the line (key order, number
formats), so we don't.

A line that is not a JSON object, or is not UTF-8, is shipped as ``message`` with ``event.original`` and
``error.type: log_line_not_json``; a line longer than ``max_line_bytes`` is cut to that length and flagged
``log.flags: ["truncated"]``. Nothing is dropped.

Every item's ``_id`` is ``<file identity>-<offset of the line>``, so a replay after a crash or a retry is
answered 409 instead of indexing a duplicate.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson

from exporters.elasticsearch.destination import Mode, daily_index_name, data_stream_name

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# Missing-field bits, in the order the fields are spliced in.
_TIMESTAMP, _HOST, _SERVICE_BIT, _PATH = 1, 2, 4, 8
_CACHE_LIMIT = 1024  # distinct (service, day) pairs remembered per file before the cache is reset

NOT_JSON = "log_line_not_json"
TRUNCATED = "log_line_truncated"


def utc_now_iso() -> str:
    """The current time as an ECS ``@timestamp`` (UTC, microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _has(doc: dict, dotted: str, parent: str, child: str) -> bool:
    """True when ``doc`` has ``dotted`` either as a dotted key or as ``{parent: {child: ...}}``."""
    if dotted in doc:
        return True
    inner = doc.get(parent)
    return type(inner) is dict and child in inner


def _has_file_path(doc: dict) -> bool:
    if "log.file.path" in doc:
        return True
    log = doc.get("log")
    if type(log) is not dict:
        return False
    file = log.get("file")
    return "file.path" in log or (type(file) is dict and "path" in file)


def _service_of(doc: dict) -> object:
    value = doc.get("service.name")
    if value is None:
        inner = doc.get("service")
        if type(inner) is dict:
            value = inner.get("name")
    return value


class FileEncoder:
    """Encodes the lines of one file; holds everything that is constant for that file."""

    def __init__(self, *, identity: str, path: str, host_name: str, service_name: str, mode: Mode,
                 namespace: str, max_line_bytes: int) -> None:
        self.identity = identity
        # A file name that is not UTF-8 (surrogate-escaped by os) still gets a valid JSON string.
        self.path = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        self.mode = mode
        self.namespace = namespace
        self.service_name = service_name
        self.max_line_bytes = max_line_bytes
        self.now = utc_now_iso()  # set by the batch builder before each run of lines
        self._static = {"host.name": host_name, "service.name": service_name, "log.file.path": self.path}
        self._fields = {
            _HOST: b'"host.name":' + orjson.dumps(host_name) + b",",
            _SERVICE_BIT: b'"service.name":' + orjson.dumps(service_name) + b",",
            _PATH: b'"log.file.path":' + orjson.dumps(self.path) + b",",
        }
        self._heads: dict[tuple[int, str], bytes] = {}
        self._actions: dict[tuple[object, object], bytes] = {}
        self._days: dict[object, bool] = {}

    # --- the hot path -------------------------------------------------------------------------------

    def encode(self, line: bytes, offset: int) -> bytes | None:
        """The bulk item (action line + document line) for ``line`` at ``offset``; None for a blank line."""
        if len(line) > self.max_line_bytes:
            return self._truncated(line, offset)
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return self._not_json(line, offset, str(exc))
        if type(doc) is not dict or not doc:
            return self._not_json(line, offset, "the line is JSON but not a non-empty object")
        missing = 0
        timestamp = doc.get("@timestamp")
        if timestamp is None:
            missing = _TIMESTAMP
        if not _has(doc, "host.name", "host", "name"):
            missing |= _HOST
        service = _service_of(doc)
        if service is None:
            missing |= _SERVICE_BIT
        if not _has_file_path(doc):
            missing |= _PATH
        action = self._action(service, timestamp)
        if line[0] != 0x7B:  # "{" after leading whitespace
            line = line.lstrip()
        head = self._head(missing)
        rest = memoryview(line)[1:]  # %b takes any buffer: no copy of the line for the slice
        if "log.offset" in doc or (type(doc.get("log")) is dict and "offset" in doc["log"]):
            return b'%s%d"}}\n%s%b\n' % (action, offset, head, rest)  # type: ignore[str-format]
        return b'%s%d"}}\n%s"log.offset":%d,%b\n' % (action, offset, head, offset, rest)  # type: ignore[str-format]

    def _head(self, missing: int) -> bytes:
        key = (missing, self.now if missing & _TIMESTAMP else "")
        head = self._heads.get(key)
        if head is None:
            if len(self._heads) > _CACHE_LIMIT:
                self._heads.clear()
            parts = [b"{"]
            if missing & _TIMESTAMP:
                parts.append(b'"@timestamp":' + orjson.dumps(self.now) + b",")
            parts += [self._fields[bit] for bit in (_HOST, _SERVICE_BIT, _PATH) if missing & bit]
            head = self._heads[key] = b"".join(parts)
        return head

    def _action(self, service: object, timestamp: object) -> bytes:
        """``{"create":{"_index":"...","_id":"<identity>-`` for this line's service and day."""
        day = None
        if self.mode == "daily_index":
            day = timestamp[:10] if type(timestamp) is str else None
            valid = self._days.get(day)
            if valid is None:
                valid = self._days[day] = type(day) is str and bool(_DAY.match(day))
            if not valid:
                day = self.now[:10]
        key = (service, day)
        action = self._actions.get(key)
        if action is None:
            if len(self._actions) > _CACHE_LIMIT:
                self._actions.clear()
                self._days.clear()
            index = self.index_for(service, day)
            action = self._actions[key] = b'{"create":{"_index":%s,"_id":"%s-' % (
                orjson.dumps(index), self.identity.encode())
        return action

    def index_for(self, service: object, day: str | None) -> str:
        """The index (or data stream) of a line of ``service`` on ``day`` (``YYYY-MM-DD``, daily mode)."""
        name = service if type(service) is str and _SERVICE.match(service) else self.service_name
        if self.mode == "data_stream":
            return data_stream_name(name, self.namespace)
        return daily_index_name(name, day or self.now[:10])

    # --- lines that are not JSON objects --------------------------------------------------------------

    def _not_json(self, line: bytes, offset: int, reason: str) -> bytes | None:
        if not line.strip():
            return None
        text = line.decode("utf-8", "replace")
        doc: dict[str, Any] = {"@timestamp": self.now, "message": text, "error.type": NOT_JSON,
               "error.message": f"not a JSON object: {reason}"}
        try:
            doc["event.original"] = line.decode("utf-8")
        except UnicodeDecodeError:
            # Keep every byte: invalid sequences become \xNN escapes, so nothing is silently replaced.
            doc["event.original"] = line.decode("utf-8", "backslashreplace")
            doc["log.flags"] = ["invalid_utf8"]
        return self._wrapped(doc, offset)

    def _truncated(self, line: bytes, offset: int) -> bytes:
        cut = line[: self.max_line_bytes]
        doc: dict[str, Any] = {"@timestamp": self.now, "message": cut.decode("utf-8", "replace"), "error.type": TRUNCATED,
               "error.message": f"line longer than {self.max_line_bytes} bytes, cut", "log.flags": ["truncated"]}
        return self._wrapped(doc, offset)

    def _wrapped(self, doc: dict, offset: int) -> bytes:
        doc.update(self._static)
        doc["log.offset"] = offset
        return b'%s%d"}}\n%s\n' % (self._action(None, None), offset, orjson.dumps(doc))
