"""Scenario 3 of issue 5: rotation by rename and by copytruncate while the application keeps writing."""
from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path

from agent.shipper import Shipper
from tests.shipper.support import Writer, all_docs, client, count, seqs, shipper_config

# The writer runs at ~4,000 lines/s, so a rotated file lives at its name for ~1 s: several scans see it.
# (A file created and renamed away between two scans is never seen, with any glob-based shipper.)


async def _ship_while_writing(shipper: Shipper, writer: Writer, total: int) -> None:
    await shipper.start()
    writer.start()
    await asyncio.to_thread(writer.join)
    assert writer.error is None and writer.written == total
    deadline = time.monotonic() + 60
    while shipper.stats.acknowledged + shipper.stats.duplicates < total:
        assert time.monotonic() < deadline, f"only {shipper.stats} after 60 s"
        await asyncio.sleep(0.05)
    await shipper.stop(5)


async def test_rename_rotation_reads_the_old_file_to_its_end(tmp_path: Path, osmem) -> None:
    total = 12_000
    log_file = tmp_path / "app.log"
    writer = Writer(log_file, total, per_burst=100, pause_s=0.02)

    def rotate(w: Writer) -> None:
        # logrotate's "create" mode: rename, then the application reopens, but not before it wrote a few
        # more lines to the renamed file (which the globs no longer match).
        log_file.rename(tmp_path / f"app-{w.written}.log.old")

    def reopen(w: Writer) -> None:
        w.reopen()

    for at in (3_000, 7_000):
        writer.rotations[at] = rotate
        writer.rotations[at + 150] = reopen
    shipper = Shipper(shipper_config(tmp_path, osmem.url, [str(tmp_path / "*.log")]))
    await _ship_while_writing(shipper, writer, total)

    es = client(osmem.url)
    assert count(es) == total
    assert sorted(seqs(all_docs(es))) == list(range(total))
    assert shipper.stats.duplicates == 0


async def test_copytruncate_rotation_under_writes(tmp_path: Path, osmem, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="agent.shipper")
    total = 12_000
    log_file = tmp_path / "app.log"
    writer = Writer(log_file, total, per_burst=100, pause_s=0.02)

    def copytruncate(w: Writer) -> None:
        # logrotate's copytruncate (the writer is paused by its lock, as the copy must be complete); the
        # application keeps its O_APPEND descriptor and goes on writing at the new end, i.e. at 0.
        shutil.copyfile(log_file, tmp_path / f"app.log.{w.written}")
        with open(log_file, "r+b") as f:
            f.truncate(0)

    for at in (4_000, 8_000):
        writer.rotations[at] = copytruncate
    patterns = [str(tmp_path / "app.log"), str(tmp_path / "app.log.*")]
    shipper = Shipper(shipper_config(tmp_path, osmem.url, patterns))
    await _ship_while_writing(shipper, writer, total)

    es = client(osmem.url)
    docs = all_docs(es)
    assert sorted(seqs(docs)) == list(range(total))
    assert count(es) == total
    assert shipper.stats.lost_bytes == 0
    assert len([r for r in caplog.records if "was truncated" in r.getMessage()]) == 2
