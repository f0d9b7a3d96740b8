"""Checkpoints: atomic replacement, advancing only past acknowledged batches, unreadable files refused."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.shipper.batch import AckTracker, Batch
from agent.shipper.checkpoints import CheckpointError, CheckpointStore


def test_a_crash_during_the_write_leaves_the_previous_checkpoints(tmp_path: Path, monkeypatch) -> None:
    store = CheckpointStore(tmp_path)
    store.advance("aaaa", 100, "/logs/a.log")
    store.save()
    store.advance("aaaa", 250, "/logs/a.log")

    def crash(*_args: object) -> None:
        raise OSError("power cut between write and rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.save()
    monkeypatch.undo()

    reloaded = CheckpointStore(tmp_path)
    reloaded.load()
    assert reloaded.offset("aaaa") == 100  # the old file, whole; the half-done one is a stray temp file
    store.save()
    reloaded.load()
    assert reloaded.offset("aaaa") == 250


def test_the_store_file_is_only_ever_replaced_never_rewritten_in_place(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.advance("aaaa", 1, "/a")
    store.save()
    inode = store.path.stat().st_ino
    store.advance("aaaa", 2, "/a")
    store.save()
    assert store.path.stat().st_ino != inode
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoints.json"]


def test_unreadable_checkpoints_are_refused_not_guessed(tmp_path: Path) -> None:
    (tmp_path / "checkpoints.json").write_text('{"files": {"aaaa": {"offset": "many"}}}')
    with pytest.raises(CheckpointError, match="checkpoints.json"):
        CheckpointStore(tmp_path).load()


def _batch(seq: int, **ends: int) -> Batch:
    batch = Batch(seq, 10, 1000)
    batch.file_ends = {identity: (end, f"/{identity}") for identity, end in ends.items()}
    return batch


def test_a_file_advances_only_past_batches_acknowledged_in_order() -> None:
    tracker = AckTracker()
    first, second, third = _batch(1, a=100, b=10), _batch(2, a=200), _batch(3, a=300, b=20)
    for batch in (first, second, third):
        tracker.register(batch)
    assert tracker.complete(third) == {}  # a later batch done first moves nothing
    # b's batches 1 and 3 are both done; a still waits for batch 2
    assert tracker.complete(first) == {"a": (100, "/a"), "b": (20, "/b")}
    assert tracker.complete(second) == {"a": (300, "/a")}
    assert tracker.open_batches == 0


def test_b_advances_when_its_last_batch_is_done() -> None:
    tracker = AckTracker()
    first, second = _batch(1, b=10), _batch(2, b=20)
    tracker.register(first)
    tracker.register(second)
    assert tracker.complete(second) == {}
    assert tracker.complete(first) == {"b": (20, "/b")}
    assert tracker.open_batches == 0
