"""Batches of bulk items, filled from file tailers, and the bookkeeping that turns acknowledgements into
checkpoints.

A batch remembers, per file, the offset reading could resume from after its lines. Batches of one file
are acknowledged out of order when several requests are in flight, so ``AckTracker`` advances a file's
checkpoint past a batch only once that batch and every earlier batch of the same file are finished.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from agent.shipper.documents import FileEncoder, utc_now_iso
from agent.shipper.tailer import FileTailer


@dataclass(eq=False)
class Batch:
    """Bulk items (action + document lines, as bytes) and the file offsets they cover."""

    seq: int
    max_events: int
    max_bytes: int
    items: list[bytes] = field(default_factory=list)
    size: int = 0
    blank_lines: int = 0
    file_ends: dict[str, tuple[int, str]] = field(default_factory=dict)  # identity -> (resume offset, path)
    started: float = field(default_factory=time.monotonic)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.max_events or self.size >= self.max_bytes

    @property
    def empty(self) -> bool:
        return not self.items and not self.file_ends

    def body(self, positions: list[int] | None = None) -> bytes:
        """The NDJSON body of all items, or of those at ``positions``."""
        if positions is None:
            return b"".join(self.items)
        return b"".join([self.items[i] for i in positions])

    def add_from(self, tailer: FileTailer) -> int:
        """Encode pending lines of ``tailer`` until this batch is full; return the lines consumed."""
        encoder: FileEncoder = tailer.encoder  # type: ignore[assignment]
        encoder.now = utc_now_iso()
        encode = encoder.encode
        lines, i, offset = tailer.pending, tailer.pending_index, tailer.pending_offset
        items, size, blank = self.items, self.size, 0
        count, max_events, max_bytes = len(lines), self.max_events, self.max_bytes
        first = i
        while i < count and len(items) < max_events and size < max_bytes:
            line = lines[i]
            item = encode(line, offset) if line else None
            if item is None:
                blank += 1
            else:
                items.append(item)
                size += len(item)
            offset += len(line) + 1
            i += 1
        self.size, self.blank_lines = size, self.blank_lines + blank
        consumed = i - first
        if i >= count:
            tailer.pending, i = [], 0
        tailer.pending_index, tailer.pending_offset = i, offset
        self.file_ends[tailer.identity] = (tailer.resume_offset(), tailer.path)
        return consumed


class AckTracker:
    """Per file identity, the batches still open in read order; yields checkpoint advances."""

    def __init__(self) -> None:
        self._open: dict[str, deque[list]] = {}  # identity -> deque of [batch seq, end offset, path, done]

    def register(self, batch: Batch) -> None:
        """Call in read order, for every batch, before it is sent."""
        for identity, (end, path) in batch.file_ends.items():
            self._open.setdefault(identity, deque()).append([batch.seq, end, path, False])

    def complete(self, batch: Batch) -> dict[str, tuple[int, str]]:
        """Mark ``batch`` finished; return the files whose acknowledged offset advanced, with the offset."""
        advanced: dict[str, tuple[int, str]] = {}
        for identity in batch.file_ends:
            queue = self._open.get(identity)
            if not queue:
                continue
            for entry in queue:
                if entry[0] == batch.seq:
                    entry[3] = True
                    break
            while queue and queue[0][3]:
                _, end, path, _ = queue.popleft()
                advanced[identity] = (end, path)
            if not queue:
                del self._open[identity]
        return advanced

    @property
    def open_batches(self) -> int:
        return len({entry[0] for queue in self._open.values() for entry in queue})
