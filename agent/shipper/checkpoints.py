"""Per-file checkpoints: the offset up to which Elasticsearch acknowledged every line of a file.

Files are keyed by their identity (``agent.shipper.identity``), not their name, so a rotated file keeps its
checkpoint under its new name and a new file reusing an old inode does not inherit one. The whole store
is one small JSON file, replaced atomically: written to a temporary file, fsynced, renamed over the old
one, and the directory fsynced, so a crash at any point leaves either the old or the new checkpoints.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "checkpoints.json"
# A checkpoint of a file not seen for this long is dropped. Should the file come back, its lines are sent
# again with the same ids and answered 409 (duplicates avoided), so forgetting costs time, not correctness.
FORGET_AFTER_S = 7 * 24 * 3600


@dataclass
class Checkpoint:
    """Acknowledged offset of one file identity, with the path it was last seen at (for people)."""

    offset: int
    path: str
    seen_at: float


class CheckpointError(Exception):
    """The checkpoint file exists but cannot be read; refusing to guess where to resume."""


class CheckpointStore:
    """Loads, updates and atomically saves the checkpoints under ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self.entries: dict[str, Checkpoint] = {}
        self.dirty = False

    def load(self) -> None:
        """Read the store; a missing file means no checkpoints yet."""
        try:
            raw = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{self.path}: cannot read checkpoints: {exc}") from exc
        try:
            self.entries = {key: Checkpoint(int(v["offset"]), str(v["path"]), float(v.get("seen_at", 0)))
                            for key, v in raw["files"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"{self.path}: malformed checkpoints: {exc!r}") from exc

    def offset(self, identity: str) -> int:
        """The acknowledged offset of ``identity`` (0 for a file never shipped)."""
        entry = self.entries.get(identity)
        return entry.offset if entry else 0

    def advance(self, identity: str, offset: int, path: str) -> None:
        """Record that every line of ``identity`` before ``offset`` is acknowledged."""
        entry = self.entries.get(identity)
        if entry is None or offset > entry.offset or entry.path != path:
            self.entries[identity] = Checkpoint(max(offset, entry.offset if entry else 0), path, time.time())
            self.dirty = True

    def touch(self, identity: str, path: str) -> None:
        """Note that ``identity`` still exists (at ``path``), so it is not forgotten."""
        entry = self.entries.get(identity)
        if entry is not None:
            entry.seen_at, entry.path = time.time(), path

    def snapshot(self) -> bytes:
        """The store as bytes, forgetting long-unseen files; call from the thread that advances it."""
        now = time.time()
        self.entries = {k: v for k, v in self.entries.items() if now - v.seen_at < FORGET_AFTER_S}
        payload = {"version": 1, "files": {k: {"offset": v.offset, "path": v.path, "seen_at": v.seen_at}
                                           for k, v in self.entries.items()}}
        self.dirty = False
        return json.dumps(payload, separators=(",", ":")).encode()

    def write(self, data: bytes) -> None:
        """Replace the store with ``data`` atomically: temp file, fsync, rename, fsync of the directory."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def save(self) -> None:
        """``write(snapshot())`` in the calling thread."""
        self.write(self.snapshot())
