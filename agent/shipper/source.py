"""Finding the files to ship and reading them round-robin into batches.

``FileSource`` re-evaluates the globs every ``scan_interval_s``: new files are opened (at their checkpoint,
if their identity has one), renamed files keep their reader, files whose name now points to new content
get a new reader. A reader whose file was renamed away or deleted keeps its descriptor and is read to the
end; it is closed once at EOF for ``close_inactive_s``. All of this runs in one worker thread at a time
(``fill`` and ``scan`` are never concurrent); the event loop only reads sizes and offsets for lag.
"""
from __future__ import annotations

import glob
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.shipper.batch import Batch
from agent.shipper.tailer import FileTailer, Truncated, fingerprint
from exporters.elasticsearch import metrics

log = logging.getLogger("agent.shipper")


@dataclass(frozen=True)
class InputSpec:
    patterns: list[str]
    service_name: str


class FileSource:
    """All file tailers of the shipper, and the rules that create, re-point and retire them."""

    def __init__(self, inputs: list[InputSpec], *, offset_of: Callable[[str], int],
                 make_encoder: Callable[[FileTailer], object], chunk_bytes: int, max_line_bytes: int,
                 scan_interval_s: float, close_inactive_s: float) -> None:
        self.inputs = inputs
        self.offset_of = offset_of
        self.make_encoder = make_encoder
        self.chunk_bytes = chunk_bytes
        self.max_line_bytes = max_line_bytes
        self.scan_interval_s = scan_interval_s
        self.close_inactive_s = close_inactive_s
        self.tailers: dict[str, FileTailer] = {}
        self._by_inode: dict[tuple[int, int], str] = {}
        self._last_scan = float("-inf")
        self._turn = 0
        self.bytes_read = 0
        self.lost_bytes = 0  # copytruncate'd away before they could be read, with no copy in the globs

    # --- discovery -------------------------------------------------------------------------------------

    def scan(self) -> None:
        """Match the globs against the file system and update the set of tailers."""
        self._last_scan = time.monotonic()
        seen: set[str] = set()
        paths: set[str] = set()
        for spec in self.inputs:
            for pattern in spec.patterns:
                for path in sorted(glob.glob(os.path.expanduser(os.path.expandvars(pattern)))):
                    if path not in paths:
                        paths.add(path)
                        self._visit(path, spec, seen)
        for identity, tailer in list(self.tailers.items()):
            tailer.in_glob = identity in seen
            if tailer.fd is None and not tailer.in_glob and not tailer.has_pending:
                if tailer.truncated:
                    self.lost_bytes += max(0, tailer.size - tailer.pos)
                    log.warning("shipper: no copy of truncated %s found; %d bytes were never read",
                                tailer.path, max(0, tailer.size - tailer.pos))
                self._retire(tailer)

    def _visit(self, path: str, spec: InputSpec, seen: set[str]) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        if not stat.S_ISREG(st.st_mode):
            return
        identity = self._by_inode.get((st.st_dev, st.st_ino))
        tailer = self.tailers.get(identity) if identity else None
        if tailer is not None:
            tailer.path, tailer.size = path, max(tailer.size, st.st_size)
            seen.add(tailer.identity)
            if tailer.fd is None and st.st_size > tailer.pos:
                self._reopen(tailer, path)
            return
        self._discover(path, st, spec, seen)

    def _discover(self, path: str, st: os.stat_result, spec: InputSpec, seen: set[str]) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            log.warning("shipper cannot open %s: %s", path, exc)
            return
        found = fingerprint(fd)
        if found is None:  # no complete first line yet
            os.close(fd)
            return
        identity, head = found
        seen.add(identity)
        existing = self.tailers.get(identity)
        if existing is not None:
            if existing.fd is None:  # e.g. the copy of a file that was copytruncate'd: read on from it
                existing.fd, existing.dev, existing.ino, existing.path = fd, st.st_dev, st.st_ino, path
                existing.truncated = False
                self._by_inode[(st.st_dev, st.st_ino)] = identity
            else:  # a copy of a file still being read
                os.close(fd)
            return
        tailer = FileTailer(identity=identity, head=head, path=path, service_name=spec.service_name, fd=fd,
                            dev=st.st_dev, ino=st.st_ino, pos=self.offset_of(identity),
                            max_line_bytes=self.max_line_bytes, size=st.st_size)
        tailer.encoder = self.make_encoder(tailer)
        self.tailers[identity] = tailer
        self._by_inode[(st.st_dev, st.st_ino)] = identity

    def _reopen(self, tailer: FileTailer, path: str) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        if os.pread(fd, len(tailer.head), 0) != tailer.head:
            os.close(fd)  # rewritten in place: _visit will find it as a new identity once we forget the inode
            self._by_inode.pop((tailer.dev, tailer.ino), None)
            return
        tailer.fd = fd

    def _retire(self, tailer: FileTailer) -> None:
        tailer.close()
        self.tailers.pop(tailer.identity, None)
        if self._by_inode.get((tailer.dev, tailer.ino)) == tailer.identity:
            del self._by_inode[(tailer.dev, tailer.ino)]
        metrics.forget_file(tailer.path)

    # --- reading ---------------------------------------------------------------------------------------

    def fill(self, batch: Batch) -> bool:
        """Read into ``batch`` until it is full or every file is at its end; True in the latter case."""
        if time.monotonic() - self._last_scan >= self.scan_interval_s:
            self.scan()
        tailers = list(self.tailers.values())
        if not tailers:
            return True
        self._turn = (self._turn + 1) % len(tailers)
        for tailer in tailers[self._turn:] + tailers[: self._turn]:
            self._read_into(tailer, batch)
            if batch.full:
                return False
        self._close_idle()
        return True

    def _read_into(self, tailer: FileTailer, batch: Batch) -> None:
        while not batch.full:
            if not tailer.has_pending:
                if tailer.fd is None:
                    return
                try:
                    n = tailer.read_chunk(self.chunk_bytes)
                except Truncated:
                    self._truncated(tailer)
                    return
                if n == 0:
                    if tailer.eof_since is None:
                        tailer.eof_since = time.monotonic()
                    return
                tailer.eof_since = None
                self.bytes_read += n
                metrics.READ_BYTES.inc(n)
            batch.add_from(tailer)

    def _truncated(self, tailer: FileTailer) -> None:
        """The open file lost this identity's content: read on from a copy if the next scan finds one."""
        log.warning("shipper: %s was truncated or rewritten at offset %d; its remaining lines are read "
                    "from a copy if one matches the globs", tailer.path, tailer.pos)
        self._by_inode.pop((tailer.dev, tailer.ino), None)
        tailer.close()
        tailer.in_glob, tailer.truncated = False, True
        self._last_scan = float("-inf")  # look for the copy (and the new content) right away

    def _close_idle(self) -> None:
        now = time.monotonic()
        for tailer in list(self.tailers.values()):
            if tailer.fd is None or tailer.has_pending or tailer.eof_since is None:
                continue
            if now - tailer.eof_since >= self.close_inactive_s:
                if tailer.in_glob:
                    tailer.close()  # reopened by the scan when the file grows
                else:
                    self._retire(tailer)
