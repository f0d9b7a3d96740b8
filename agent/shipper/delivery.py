"""Sending one batch until every item has a final outcome: acknowledged, duplicate or dead-lettered.

Only the items that failed are sent again (429, 5xx, connection errors), after an exponential backoff with
full jitter (a random pause between 0 and min(cap, initial * 2**attempt)), for as long as it takes. A request
refused as a whole with 400/413 is split in halves until the offending item stands alone and is
dead-lettered. Items refused for good are appended to the dead-letter file (fsynced) before the batch counts
as done, so a checkpoint never moves past a line whose outcome is not recorded somewhere.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agent.shipper.batch import Batch
from agent.shipper.documents import utc_now_iso
from exporters.elasticsearch import metrics
from exporters.elasticsearch.bulk import BulkResult, BulkSink, ItemError

log = logging.getLogger("agent.shipper")


@dataclass
class ShipperStats:
    """Counts since this shipper started; ``acknowledged + duplicates + dead_lettered`` = lines shipped."""

    acknowledged: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retried: int = 0  # item retries, not lines
    blank_lines: int = 0
    requests: int = 0
    bytes_read: int = 0
    lost_bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class DeadLetterFile:
    """Appends refused documents with the reason, one JSON object per line, fsynced per write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, records: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(orjson.dumps(r) + b"\n" for r in records)
        with open(self.path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def dead_letter_record(item: bytes, status: int, error: Any) -> dict[str, Any]:
    """What the dead-letter file keeps about one refused item: where it was going, why, and the document."""
    action_line, _, document = item.partition(b"\n")
    target = next(iter(orjson.loads(action_line).values()))
    return {"@timestamp": utc_now_iso(), "status": status, "error": error, "_index": target.get("_index"),
            "_id": target.get("_id"), "document": document.rstrip(b"\n").decode("utf-8", "replace")}


class Deliverer:
    """Delivers batches through a ``BulkSink`` in worker threads; shared by the shipper's sender tasks."""

    def __init__(self, sink: BulkSink, executor: Executor, dead_letters: DeadLetterFile, stats: ShipperStats,
                 initial_backoff_s: float, max_backoff_s: float) -> None:
        self.sink = sink
        self.executor = executor
        self.dead_letters = dead_letters
        self.stats = stats
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.last_success: float | None = None  # monotonic time of the last request with acknowledged items
        self.last_error: str | None = None
        self.backoffs: dict[int, float] = {}  # batch seq -> current pause, for the gauge and health

    async def deliver(self, batch: Batch) -> None:
        """Return once every item of ``batch`` is acknowledged, a duplicate, or dead-lettered."""
        groups = [list(range(len(batch.items)))] if batch.items else []
        attempt = 0
        try:
            while groups:
                positions = groups.pop()
                result = await self._send(batch, positions)
                if result.split:
                    groups += self._split(batch, positions, result)
                    if len(positions) == 1:
                        await self._dead_letter(batch, [ItemError(0, result.status or 400, result.failure)], positions)
                    continue
                await self._account(batch, positions, result)
                if result.retry:
                    groups.append([positions[j] for j in result.retry])
                    attempt += 1
                    await self._backoff(batch, attempt, len(result.retry), result.failure)
                else:
                    attempt = 0
        finally:
            self._set_backoff(batch, None)

    async def _send(self, batch: Batch, positions: list[int]) -> BulkResult:
        body = batch.body(None if len(positions) == len(batch.items) else positions)
        loop = asyncio.get_running_loop()
        self.stats.requests += 1
        return await loop.run_in_executor(self.executor, self.sink.send, body, len(positions))

    @staticmethod
    def _split(batch: Batch, positions: list[int], result: BulkResult) -> list[list[int]]:
        if len(positions) == 1:
            return []
        log.warning("shipper: bulk request of %d items refused as a whole (%s); splitting it",
                    len(positions), result.failure)
        middle = len(positions) // 2
        return [positions[middle:], positions[:middle]]

    async def _account(self, batch: Batch, positions: list[int], result: BulkResult) -> None:
        self.stats.acknowledged += result.created
        self.stats.duplicates += result.duplicates
        metrics.count_events("acknowledged", result.created)
        metrics.count_events("duplicate", result.duplicates)
        if result.created or result.duplicates:
            self.last_success = time.monotonic()
            metrics.LAST_ACK.set(time.time())
        if result.rejected:
            await self._dead_letter(batch, result.rejected, positions)
        if result.retry:
            self.stats.retried += len(result.retry)
            metrics.count_events("retried", len(result.retry))
            self.last_error = result.failure

    async def _dead_letter(self, batch: Batch, errors: list[ItemError], positions: list[int]) -> None:
        records = [dead_letter_record(batch.items[positions[e.position]], e.status, e.error) for e in errors]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.dead_letters.write, records)
        self.stats.dead_lettered += len(records)
        metrics.count_events("dead_lettered", len(records))
        # Counts as contact: Elasticsearch answered, these documents just can't ever go in.
        self.last_success = time.monotonic()
        log.warning("shipper: %d document(s) refused by Elasticsearch, written to %s (first: %s)",
                    len(records), self.dead_letters.path, records[0]["error"])

    async def _backoff(self, batch: Batch, attempt: int, items: int, reason: str | None) -> None:
        cap = min(self.max_backoff_s, self.initial_backoff_s * (2 ** min(attempt, 30)))
        pause = random.uniform(0, cap)
        self._set_backoff(batch, cap)
        if attempt == 1 or attempt % 10 == 0:
            log.warning("shipper: retrying %d item(s) of batch %d (attempt %d, pause %.2f s): %s",
                        items, batch.seq, attempt, pause, reason)
        await asyncio.sleep(pause)

    def _set_backoff(self, batch: Batch, value: float | None) -> None:
        if value is None:
            self.backoffs.pop(batch.seq, None)
        else:
            self.backoffs[batch.seq] = value
        metrics.BACKOFF.set(max(self.backoffs.values(), default=0.0))
