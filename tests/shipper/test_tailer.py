"""Unit tests of the file source: rotation by rename, copytruncate, deletion, partial and over-long lines,
inode reuse — read through ``FileSource.fill`` into real batches, without Elasticsearch."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson

from agent.shipper.batch import Batch
from agent.shipper.documents import FileEncoder
from agent.shipper.source import FileSource, InputSpec
from tests.shipper.support import ecs_line, write_lines


def make_source(tmp_path: Path, offsets: dict[str, int] | None = None, patterns: list[str] | None = None,
                max_line_bytes: int = 1024) -> FileSource:
    def encoder(tailer):
        return FileEncoder(identity=tailer.identity, path=tailer.path, host_name="h", service_name="svc",
                           mode="daily_index", namespace="default", max_line_bytes=max_line_bytes)

    return FileSource([InputSpec(patterns or [str(tmp_path / "*.log")], "svc")],
                      offset_of=lambda identity: (offsets or {}).get(identity, 0),
                      make_encoder=encoder, chunk_bytes=4096, max_line_bytes=max_line_bytes,
                      scan_interval_s=0.0, close_inactive_s=60.0)


def drain(source: FileSource) -> list[dict]:
    """Fill batches until every file is at its end; return the documents (with their _id)."""
    docs = []
    while True:
        batch = Batch(0, 100, 1 << 20)
        at_end = source.fill(batch)
        for item in batch.items:
            action, document = item.rstrip(b"\n").split(b"\n")
            docs.append({"_id": orjson.loads(action)["create"]["_id"], **orjson.loads(document)})
        if at_end and not batch.items:
            return docs


def messages(docs: list[dict]) -> list[str]:
    return [d["message"] for d in docs]


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write_lines(log, [ecs_line(0), b'{"message": "half'])
    source = make_source(tmp_path)
    assert messages(drain(source)) == ["seq 0"]
    write_lines(log, [b' and the rest"}\n'])
    assert messages(drain(source)) == ["half and the rest"]


def test_over_long_line_is_cut_flagged_and_the_next_line_kept(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write_lines(log, [ecs_line(0), b"y" * 3000 + b"\n", ecs_line(1)])
    # ... and one written in pieces, longer than the limit before its newline arrives
    source = make_source(tmp_path, max_line_bytes=500)
    docs = drain(source)
    write_lines(log, [b"z" * 4000])
    docs += drain(source)
    write_lines(log, [b"z" * 4000 + b"\n", ecs_line(2)])
    docs += drain(source)
    assert messages(docs) == ["seq 0", "y" * 500, "seq 1", "z" * 500, "seq 2"]
    assert [d.get("log.flags") for d in docs] == [None, ["truncated"], None, ["truncated"], None]
    offsets = [d["log.offset"] for d in docs]
    assert offsets == sorted(offsets) and len(set(offsets)) == 5


def test_rename_rotation_finishes_the_old_file_then_reads_the_new(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write_lines(log, [ecs_line(i) for i in range(3)])
    source = make_source(tmp_path)
    assert messages(drain(source)) == ["seq 0", "seq 1", "seq 2"]
    with open(log, "ab") as still_open:
        log.rename(tmp_path / "a.log.1")  # no longer matched by *.log
        still_open.write(ecs_line(3))  # the application writes once more before reopening
    write_lines(log, [ecs_line(4)])
    assert sorted(messages(drain(source))) == ["seq 3", "seq 4"]


def test_copytruncate_restarts_at_zero_with_a_new_identity(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write_lines(log, [ecs_line(i) for i in range(3)])
    source = make_source(tmp_path)
    first = drain(source)
    shutil.copyfile(log, tmp_path / "a.log.1")
    with open(log, "r+b") as f:
        f.truncate(0)
    write_lines(log, [ecs_line(10)])  # shorter than the old offset ...
    second = drain(source)
    write_lines(log, [ecs_line(i) for i in range(11, 40)])  # ... and then longer than it
    second += drain(source)
    assert messages(second) == [f"seq {i}" for i in range(10, 40)]
    assert second[0]["log.offset"] == 0
    assert {d["_id"].split("-")[0] for d in first}.isdisjoint({d["_id"].split("-")[0] for d in second})


def test_deleted_file_is_finished_from_its_open_handle(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write_lines(log, [ecs_line(0)])
    source = make_source(tmp_path)
    assert messages(drain(source)) == ["seq 0"]
    with open(log, "ab") as writer:
        write_lines(log, [ecs_line(1)])
        log.unlink()
        writer.write(ecs_line(2))
    assert messages(drain(source)) == ["seq 1", "seq 2"]


def test_inode_reuse_does_not_inherit_the_old_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write_lines(log, [ecs_line(i) for i in range(5)])
    source = make_source(tmp_path)
    old = drain(source)
    old_inode = log.stat().st_ino
    offsets = {old[0]["_id"].split("-")[0]: log.stat().st_size}  # fully acknowledged checkpoint
    for tailer in list(source.tailers.values()):
        tailer.close()  # the shipper's handle would keep the inode alive
    log.unlink()
    for _ in range(200):  # file systems recycle freed inodes soon, but not always the very next one
        with open(log, "wb"):
            pass
        if log.stat().st_ino == old_inode:
            break
        scratch = tmp_path / f"scratch-{_}"
        log.rename(scratch)
    assert log.stat().st_ino == old_inode  # the file system recycled the inode (checked, not assumed)
    write_lines(log, [ecs_line(100)] + [ecs_line(i) for i in range(101, 110)])
    restarted = make_source(tmp_path, offsets=offsets)
    assert messages(drain(restarted)) == [f"seq {i}" for i in range(100, 110)]


def test_renamed_file_keeps_its_checkpoint_across_a_restart(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write_lines(log, [ecs_line(i) for i in range(4)])
    docs = drain(make_source(tmp_path))
    identity = docs[0]["_id"].split("-")[0]
    acked = docs[2]["log.offset"]  # the first two lines acknowledged
    os.rename(log, tmp_path / "b.log")
    restarted = make_source(tmp_path, offsets={identity: acked})
    assert messages(drain(restarted)) == ["seq 2", "seq 3"]
