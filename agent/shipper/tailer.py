"""Reading one log file: large chunks, complete lines only, rotation- and truncation-safe.

A file is identified by a fingerprint of its content — a hash of its first line (at most 1 KiB) — as
Filebeat's ``fingerprint`` file identity does, not by its name or inode:

- rename rotation: the renamed file keeps its identity (and checkpoint), the new file gets its own;
- copytruncate: the truncated file's first line changes, so it becomes a new identity read from 0, while a
  copy (``app.log.1``, if the globs match it) carries the old identity on from its checkpoint;
- inode reuse: a new file on a recycled inode has another first line, so it cannot inherit a checkpoint.

A file whose first line is not complete yet is not read until it is (there is nothing to ship anyway).
After every chunk read the fingerprint is checked again on the open descriptor, so bytes written after a
truncation are never read as a continuation of the old content.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

FINGERPRINT_MAX = 1024


def fingerprint(fd: int) -> tuple[str, bytes] | None:
    """(identity, first line) of the open file, or None while its first line is incomplete."""
    head = os.pread(fd, FINGERPRINT_MAX, 0)
    newline = head.find(b"\n")
    if newline >= 0:
        head = head[: newline + 1]
    elif len(head) < FINGERPRINT_MAX:
        return None
    return hashlib.blake2b(head, digest_size=8).hexdigest(), head


class Truncated(Exception):
    """The open file no longer holds the content its identity names (copytruncate, or rewritten)."""


@dataclass(eq=False)
class FileTailer:
    """The reading state of one file identity.

    ``pending`` holds complete lines read but not yet put in a batch, the first of them starting at
    ``pending_offset``; ``pos`` is where the next read starts; ``partial`` is an incomplete last line.
    """

    identity: str
    head: bytes  # the fingerprinted first line, to re-check the open file against
    path: str
    service_name: str
    fd: int | None
    dev: int
    ino: int
    pos: int  # next byte to read
    max_line_bytes: int
    pending: list[bytes] = field(default_factory=list)
    pending_index: int = 0
    pending_offset: int = 0
    tail_truncated: bool = False  # the last pending line is the cut head of an over-long line
    partial: bytes = b""
    skipping: bool = False  # discarding the rest of an over-long line until its newline
    long_line_start: int = 0  # offset of the over-long line being skipped (resume point until it ends)
    size: int = 0  # last known file size, for lag
    in_glob: bool = True  # still matched by a glob (not renamed away)
    truncated: bool = False  # the open file lost this content; waiting for a copy to read on from
    eof_since: float | None = None
    encoder: object = None  # the FileEncoder of this file, attached by the source

    def __post_init__(self) -> None:
        self.pending_offset = self.pos

    @property
    def has_pending(self) -> bool:
        return self.pending_index < len(self.pending)

    def resume_offset(self) -> int:
        """Where reading would restart if everything handed out so far were acknowledged."""
        if self.skipping:  # the cut head is re-sent (same id: 409) unless the line's end was reached
            return min(self.pending_offset, self.long_line_start)
        return self.pending_offset

    def read_chunk(self, chunk_bytes: int) -> int:
        """Read up to ``chunk_bytes`` into ``pending``; return bytes read (0 at end of file).

        Call only when ``pending`` is used up. Raises ``Truncated`` if the file was truncated or rewritten.
        """
        assert self.fd is not None and not self.has_pending
        data = os.pread(self.fd, chunk_bytes, self.pos)
        if not data:
            if os.fstat(self.fd).st_size < self.pos:
                raise Truncated(self.path)
            return 0
        if os.pread(self.fd, len(self.head), 0) != self.head:
            raise Truncated(self.path)
        start = self.pos - len(self.partial)
        self.pos += len(data)
        self.size = max(self.size, self.pos)
        if self.partial:
            data = self.partial + data
        lines = data.split(b"\n")
        rest = lines.pop()
        if self.skipping:
            if not lines:  # still inside the over-long line: drop the bytes
                self.partial = b""
                return len(data)
            tail = lines.pop(0)  # the end of the over-long line, already shipped cut
            start += len(tail) + 1
            self.skipping = False
        self._set_pending(lines, start, rest)
        return len(data)

    def _set_pending(self, lines: list[bytes], start: int, rest: bytes) -> None:
        self.pending, self.pending_index, self.pending_offset = lines, 0, start
        self.tail_truncated = False
        rest_start = self.pos - len(rest)
        if len(rest) > self.max_line_bytes:
            # An over-long line without its newline yet: ship its head now, skip the rest when it comes.
            lines.append(rest)
            self.tail_truncated = True
            self.skipping = True
            self.long_line_start = rest_start
            self.partial = b""
        else:
            self.partial = rest

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
