"""The shipper: a file source feeding bulk senders through a bounded queue, checkpointing acknowledgements.

One reader task fills batches in a worker thread (file reads and line encoding); ``max_in_flight`` sender
tasks each deliver one batch at a time (compression and HTTP in worker threads). The queue holds one
batch, so at most ``max_in_flight + 2`` batches exist at once: while Elasticsearch is down the senders keep
retrying, the queue stays full and the reader stops reading ahead. Memory is bounded by the batch size,
not by the backlog. Checkpoints advance only when batches are finished and are written at most every
``checkpoint_interval_s`` (and on stop); a crash replays at most that much, answered 409 (duplicate).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from agent.shipper.batch import AckTracker, Batch
from agent.shipper.checkpoints import CheckpointStore
from agent.shipper.config import ShipperConfig
from agent.shipper.delivery import DeadLetterFile, Deliverer, ShipperStats
from agent.shipper.documents import FileEncoder
from agent.shipper.source import FileSource, InputSpec
from agent.shipper.tailer import FileTailer
from exporters.elasticsearch import metrics
from exporters.elasticsearch.bulk import BulkSink, make_client
from exporters.elasticsearch.destination import Mode, detect_mode, ensure_destination

if TYPE_CHECKING:
    from checks.base import CheckResult

log = logging.getLogger("agent.shipper")


class Shipper:
    """Tails the configured files and ships every line to Elasticsearch exactly once."""

    def __init__(self, config: ShipperConfig) -> None:
        self.config = config
        self.stats = ShipperStats()
        self.mode: Mode | None = None
        self._store = CheckpointStore(config.state_dir)
        self._tracker = AckTracker()
        self._executor = ThreadPoolExecutor(config.max_in_flight + 1, thread_name_prefix="shipper")
        # Reading and encoding always on the same thread: the many small line and item objects then come
        # from one malloc arena instead of one per pool thread, which kept ~20 MB more RSS (measured).
        self._read_executor = ThreadPoolExecutor(1, thread_name_prefix="shipper-read")
        self._queue: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=1)
        self._stopping = asyncio.Event()
        self._caught_up = asyncio.Event()
        self._until_caught_up = False
        self._started_at: float | None = None
        self._fatal: str | None = None
        self._in_flight: dict[int, float] = {}  # batch seq -> monotonic time it was read
        self._seq = 0
        self._source: FileSource | None = None
        self._reader: asyncio.Task[None] | None = None
        self._senders: list[asyncio.Task[None]] = []
        self._checkpointer: asyncio.Task[None] | None = None
        self._checkpoint_lock = asyncio.Lock()
        self._lag_labels: set[str] = set()
        es = config.elasticsearch
        self._client = make_client(
            es.hosts, api_key=es.api_key.get_secret_value() if es.api_key else None,
            basic_auth=(es.username, es.password.get_secret_value()) if es.username and es.password else None,
            ca_file=es.ca_file, verify_certs=es.verify_certs, request_timeout=es.request_timeout_s,
            compression_level=es.compression_level)
        self._deliverer = Deliverer(BulkSink(self._client), self._executor, DeadLetterFile(config.dead_letter_file),
                                    self.stats, config.retry.initial_backoff_s, config.retry.max_backoff_s)

    # --- life cycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load checkpoints and start reading and sending in the background.

        Raises ``CheckpointError`` when the checkpoint file is unreadable (better to stop than to guess).
        """
        if self._reader is not None:
            return
        self._store.load()
        self._started_at = time.monotonic()
        self._reader = asyncio.create_task(self._guard(self._read_loop()), name="shipper-reader")
        self._senders = [asyncio.create_task(self._send_loop(), name=f"shipper-sender-{i}")
                         for i in range(self.config.max_in_flight)]
        self._checkpointer = asyncio.create_task(self._checkpoint_loop(), name="shipper-checkpoints")

    async def run_until_caught_up(self) -> None:
        """Ship everything the files hold now (complete lines), then stop gracefully."""
        self._until_caught_up = True
        await self.start()
        assert self._reader is not None
        done_waiter = asyncio.create_task(self._caught_up.wait())
        await asyncio.wait({done_waiter, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        done_waiter.cancel()
        await self.stop(deadline_s=self.config.elasticsearch.request_timeout_s)
        if self._fatal:
            raise RuntimeError(self._fatal)

    async def stop(self, deadline_s: float = 10.0) -> None:
        """Stop reading, deliver what was read within ``deadline_s``, write the checkpoints."""
        if self._reader is None:
            return
        deadline = time.monotonic() + deadline_s
        self._stopping.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reader), timeout=max(0.0, deadline - time.monotonic()))
        self._reader.cancel()
        for _ in self._senders:  # after the batches still queued, one "no more" per sender
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue.put(None), timeout=max(0.01, deadline - time.monotonic()))
        _, pending = await asyncio.wait(self._senders, timeout=max(0.0, deadline - time.monotonic())) \
            if self._senders else (set(), set())
        for task in pending:
            task.cancel()
        if pending:
            log.warning("shipper: %d request(s) still in flight at the shutdown deadline; their lines are "
                        "re-sent (and deduplicated) after the restart", len(pending))
        if self._checkpointer:
            self._checkpointer.cancel()
        await asyncio.gather(self._reader, *self._senders, *([self._checkpointer] if self._checkpointer else []),
                             return_exceptions=True)
        await self._write_checkpoints()
        self._update_lag()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._read_executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    # --- reading -----------------------------------------------------------------------------------------

    async def _guard(self, coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug, not an Elasticsearch problem: make it visible in health
            self._fatal = f"shipper reader stopped: {type(exc).__name__}: {exc}"
            log.exception("shipper reader stopped")

    async def _read_loop(self) -> None:
        await self._set_up_destination()
        if self._stopping.is_set():
            return
        loop = asyncio.get_running_loop()
        source = self._source = self._make_source()
        batch = self._new_batch()
        while not self._stopping.is_set():
            at_end = await loop.run_in_executor(self._read_executor, source.fill, batch)
            self.stats.bytes_read, self.stats.lost_bytes = source.bytes_read, source.lost_bytes
            aged = time.monotonic() - batch.started >= self.config.batch.max_wait_s
            if batch.full or (at_end and not batch.empty and (aged or self._until_caught_up)):
                await self._enqueue(batch)
                batch = self._new_batch()
                continue
            if at_end and self._until_caught_up and batch.empty:
                await loop.run_in_executor(self._read_executor, source.scan)
                if await loop.run_in_executor(self._read_executor, source.fill, batch) and batch.empty:
                    await self._wait_delivered()
                    self._caught_up.set()
                    return
                continue
            if at_end:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.config.poll_interval_s)
        if not batch.empty:  # graceful stop: what was read is still delivered, within the deadline
            await self._enqueue(batch)

    def _make_source(self) -> FileSource:
        cfg = self.config
        return FileSource([InputSpec(list(i.paths), i.service_name) for i in cfg.inputs],
                          offset_of=self._store.offset, make_encoder=self._make_encoder,
                          chunk_bytes=cfg.read_chunk_bytes, max_line_bytes=cfg.max_line_bytes,
                          scan_interval_s=cfg.scan_interval_s, close_inactive_s=cfg.close_inactive_s)

    def _make_encoder(self, tailer: FileTailer) -> FileEncoder:
        assert self.mode is not None
        return FileEncoder(identity=tailer.identity, path=tailer.path, host_name=self.config.host_name,
                           service_name=tailer.service_name, mode=self.mode,
                           namespace=self.config.elasticsearch.namespace, max_line_bytes=self.config.max_line_bytes)

    def _new_batch(self) -> Batch:
        self._seq += 1
        return Batch(self._seq, self.config.batch.max_events, self.config.batch.max_bytes)

    async def _enqueue(self, batch: Batch) -> None:
        self.stats.blank_lines += batch.blank_lines
        self._tracker.register(batch)
        if not batch.items:  # only offsets moved (blank lines, the skipped rest of a long line)
            self._finish(batch)
            return
        self._in_flight[batch.seq] = batch.started
        await self._queue.put(batch)

    async def _wait_delivered(self) -> None:
        while self._in_flight:
            await asyncio.sleep(0.02)

    async def _set_up_destination(self) -> None:
        """Detect the mode and install template (and ILM policy); retried until it works or we stop."""
        es = self.config.elasticsearch
        ilm = {"max_primary_shard_size": es.ilm.rollover_max_primary_shard_size,
               "max_age": es.ilm.rollover_max_age, "delete_after": es.ilm.delete_after}
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._stopping.is_set():
            try:
                mode = es.mode if es.mode != "auto" else await loop.run_in_executor(
                    self._executor, detect_mode, self._client)
                await loop.run_in_executor(self._executor, ensure_destination, self._client, mode, ilm,
                                           es.index_unmapped_fields)
                self.mode = mode
                log.info("shipper: destination ready (%s)", mode)
                return
            except Exception as exc:  # noqa: BLE001 (the client's errors are many; each means "not yet")
                attempt += 1
                self._deliverer.last_error = f"setting up the destination: {type(exc).__name__}: {exc}"
                pause = random.uniform(0, min(self.config.retry.max_backoff_s,
                                              self.config.retry.initial_backoff_s * 2 ** min(attempt, 30)))
                if attempt == 1 or attempt % 10 == 0:
                    log.warning("shipper: %s (attempt %d)", self._deliverer.last_error, attempt)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)

    # --- sending and acknowledging ----------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            batch = await self._queue.get()
            if batch is None:
                return
            metrics.REQUESTS_IN_FLIGHT.inc()
            try:
                await self._deliverer.deliver(batch)
            finally:
                metrics.REQUESTS_IN_FLIGHT.dec()
            self._finish(batch)

    def _finish(self, batch: Batch) -> None:
        self._in_flight.pop(batch.seq, None)
        for identity, (offset, path) in self._tracker.complete(batch).items():
            self._store.advance(identity, offset, path)

    async def _checkpoint_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.checkpoint_interval_s or 0.05)
            await self._write_checkpoints()
            self._update_lag()

    async def _write_checkpoints(self) -> None:
        async with self._checkpoint_lock:
            if not self._store.dirty:
                return
            data = self._store.snapshot()
            await asyncio.get_running_loop().run_in_executor(self._executor, self._store.write, data)

    # --- what is seen from outside --------------------------------------------------------------------------

    def lag(self) -> dict[str, int]:
        """Bytes not yet acknowledged, per file path currently followed."""
        if self._source is None:
            return {}
        return {t.path: max(0, t.size - self._store.offset(t.identity))
                for t in list(self._source.tailers.values())}

    def _update_lag(self) -> None:
        lag = self.lag()
        for path, value in lag.items():
            metrics.set_lag(path, value)
        for gone in self._lag_labels - lag.keys():
            metrics.forget_file(gone)
        self._lag_labels = set(lag)

    def health(self) -> CheckResult:
        """``warn`` when nothing could be delivered for ``stall_warn_after_s`` while there is a backlog."""
        # Imported here: ``checks`` loads every protocol's client library (~20 MB of RSS), which the
        # standalone ``ship`` process never needs; inside the agent it is loaded already.
        from checks.base import CheckResult, Status

        if self._fatal:
            return CheckResult(Status.FAIL, output=self._fatal)
        if self._started_at is None:
            return CheckResult(Status.PASS, output="not started")
        now = time.monotonic()
        backlog = sum(self.lag().values())
        waiting_since = min(self._in_flight.values(), default=None)
        if waiting_since is None:
            waiting_since = now if self.mode is not None else self._started_at
        stalled_for = now - max(self._deliverer.last_success or self._started_at, waiting_since)
        measurements = {"lag_bytes": float(backlog), "requests_in_flight": float(len(self._in_flight)),
                        "seconds_without_delivery": round(stalled_for, 3),
                        "backoff_seconds": max(self._deliverer.backoffs.values(), default=0.0),
                        "dead_lettered": float(self.stats.dead_lettered)}
        if (backlog or self._in_flight or self.mode is None) and stalled_for >= self.config.stall_warn_after_s:
            output = (f"nothing delivered to Elasticsearch for {stalled_for:.0f} s with {backlog} bytes waiting; "
                      f"last error: {self._deliverer.last_error or 'none'}")
            return CheckResult(Status.WARN, output=output, observed_value=backlog, observed_unit="bytes",
                               measurements=measurements)
        return CheckResult(Status.PASS, output=f"{backlog} bytes behind", observed_value=backlog,
                           observed_unit="bytes", measurements=measurements)
