"""Log shipper cost: ECS lines of ~400 bytes from a file into osmem-server.

    make bench BENCH=shipper            # BENCH_LINES (default 1,000,000) and BENCH_ROUNDS (default 10)

The lines are split into rounds. In each round the same lines go, each time into a fresh osmem-server:

- baseline: the bulk bodies the shipper would send, built before the clock starts (same documents, same
  ids, same gzip level, same two requests in flight), POSTed by a minimal urllib3 loop — a "cat" of
  ready-made bodies, i.e. what the server and the transport cost without any shipper;
- shipper: ``python -m agent.shipper --until-caught-up`` as a child process, whose own CPU time and peak RSS
  are read from ``wait4``'s rusage.

Rounds alternate which goes first (ABBA), so drift on this shared machine falls on both. Reported: events/s
(wall clock) of both and their ratio; shipper CPU seconds per 100,000 events and events per CPU-second
(per core), also net of the process's fixed cost (interpreter start, imports, set-up; measured with an
empty file in the same run); peak RSS. The template is installed with ``index_unmapped_fields: false`` in
both arms to keep osmem-server (the bottleneck, ~2-5k docs/s here) from dominating even more.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from queue import Queue

import orjson
import urllib3
import yaml

from agent.shipper.batch import Batch
from agent.shipper.documents import FileEncoder
from agent.shipper.source import FileSource, InputSpec
from benchmarks.settings import positive_int, ratio
from exporters.elasticsearch.bulk import make_client
from exporters.elasticsearch.destination import ensure_destination
from tests.support.services import osmem_server

LINES = positive_int("BENCH_LINES", 1000000)
# osmem-server holds everything in memory and slows down as an index grows (a 250,000-document round
# reached 8 GB and 30 s per bulk request); ten rounds of 100,000 keep every server small.
ROUNDS = positive_int("BENCH_ROUNDS", 10)
# The baseline posts this share of each round's bodies: its rate is what is compared, and osmem-server's
# speed, not the baseline's, is what makes this benchmark take long.
BASELINE_SHARE = ratio("BENCH_BASELINE_SHARE", 0.25)
IN_FLIGHT = 2
BATCH_EVENTS = 2000
PATHS = ["/vehicles", "/vehicles/{}", "/bookings", "/bookings/{}/confirm", "/auth/login", "/search"]


def ecs_line(rng: random.Random, seq: int) -> bytes:
    """One realistic API access-log line (~400 bytes)."""
    return orjson.dumps({
        "@timestamp": f"2026-11-25T{seq // 3600000 % 24:02d}:{seq // 60000 % 60:02d}:{seq // 1000 % 60:02d}."
                      f"{seq % 1000:03d}Z",
        "log.level": rng.choice(("info", "info", "info", "warning", "error")),
        "message": "request finished", "service.name": "island-api", "service.version": "0.1.0",
        "trace.id": f"{rng.getrandbits(128):032x}", "span.id": f"{rng.getrandbits(64):016x}",
        "http.request.method": rng.choice(("GET", "GET", "POST")),
        "url.path": rng.choice(PATHS).format(rng.randint(1, 99999)),
        "http.response.status_code": rng.choice((200, 200, 200, 201, 404, 409, 500)),
        "event.duration": rng.randint(100_000, 900_000_000), "user.id": str(rng.randint(1, 10**6)),
        "client.ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0",
    }) + b"\n"


def write_log(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as f:
        f.writelines(b"".join(ecs_line(rng, seq) for seq in range(start, min(count, start + 10000))) for start in range(0, count, 10000))


def prebuilt_bodies(log_dir: Path) -> list[bytes]:
    """The gzipped bulk bodies the shipper would send for the files in ``log_dir`` (not timed)."""
    def encoder(tailer):
        return FileEncoder(identity=tailer.identity, path=tailer.path, host_name="bench", service_name="island-api",
                           mode="daily_index", namespace="default", max_line_bytes=1 << 20)

    source = FileSource([InputSpec([str(log_dir / "*.log")], "island-api")], offset_of=lambda _: 0,
                        make_encoder=encoder, chunk_bytes=1 << 20, max_line_bytes=1 << 20,
                        scan_interval_s=3600, close_inactive_s=3600)
    bodies = []
    while True:
        batch = Batch(0, BATCH_EVENTS, 2 << 20)
        at_end = source.fill(batch)
        if batch.items:
            compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
            bodies.append(compressor.compress(batch.body()) + compressor.flush())
        if at_end and not batch.items:
            return bodies


def run_baseline(url: str, bodies: list[bytes]) -> float:
    """POST the bodies, IN_FLIGHT at a time; return the wall-clock seconds."""
    ensure_destination(make_client([url]), "daily_index", index_unmapped_fields=False)
    pool = urllib3.PoolManager(maxsize=IN_FLIGHT)
    work: Queue[bytes | None] = Queue()
    for body in bodies:
        work.put(body)
    headers = {"content-type": "application/x-ndjson", "content-encoding": "gzip"}

    def worker() -> None:
        while (body := work.get()) is not None:
            resp = pool.request("POST", f"{url}/_bulk?filter_path=errors", body=body, headers=headers)
            assert resp.status == 200 and json.loads(resp.data) == {"errors": False}, resp.data[:300]

    threads = [threading.Thread(target=worker) for _ in range(IN_FLIGHT)]
    started = time.perf_counter()
    for t in threads:
        work.put(None)
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def run_shipper(url: str, log_dir: Path, state_dir: Path) -> tuple[float, float, int, dict]:
    """Ship ``log_dir`` with the real shipper process; (wall s, CPU s, peak RSS bytes, its summary)."""
    config = {"shipper": {
        "inputs": [{"paths": [str(log_dir / "*.log")], "service_name": "island-api"}], "host_name": "bench",
        "state_dir": str(state_dir), "max_in_flight": IN_FLIGHT, "batch": {"max_events": BATCH_EVENTS},
        "elasticsearch": {"hosts": [url], "index_unmapped_fields": False}}}
    config_path = state_dir.parent / f"{state_dir.name}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "agent.shipper", "--config", str(config_path),
                             "--until-caught-up"], stdout=subprocess.PIPE, cwd=Path(__file__).parents[1])
    assert proc.stdout is not None
    peak = PeakRss(proc.pid)
    out = proc.stdout.read()
    peak.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, out
    return wall, usage.ru_utime + usage.ru_stime, peak.bytes, json.loads(out.splitlines()[-1])


class PeakRss(threading.Thread):
    """Follows a process's ``VmHWM`` (peak RSS since its exec) until stopped.

    Not rusage's ``ru_maxrss``: for a child that one includes the pages it shared with this (large)
    process between fork and exec.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.bytes, self._done = pid, 0, threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.wait(0.05):
            self._sample()

    def _sample(self) -> None:
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.bytes = max(self.bytes, int(line.split()[1]) * 1024)
        except OSError:
            pass

    def stop(self) -> None:
        self._sample()  # stdout closed: the process is exiting, its peak is behind it
        self._done.set()
        self.join()


def main() -> None:
    per_round = LINES // ROUNDS
    root = Path(tempfile.mkdtemp(prefix="bench-shipper-"))
    totals = {"baseline_s": 0.0, "baseline_events": 0, "shipper_s": 0.0, "cpu_s": 0.0, "rss": 0, "events": 0}
    try:
        empty = root / "empty"
        empty.mkdir()
        with osmem_server() as server:
            _, fixed_cpu, fixed_rss, _ = run_shipper(server.url, empty, root / "state-empty")
        for r in range(ROUNDS):
            log_dir = root / f"logs-{r}"
            log_dir.mkdir()
            write_log(log_dir / "api.log", per_round, seed=r)
            bodies = prebuilt_bodies(log_dir)
            for arm in (("baseline", "shipper") if r % 2 == 0 else ("shipper", "baseline")):
                with osmem_server() as server:
                    if arm == "baseline":
                        share = bodies[: max(1, int(len(bodies) * BASELINE_SHARE))]
                        seconds = run_baseline(server.url, share)
                        totals["baseline_s"] += seconds
                        totals["baseline_events"] += min(per_round, len(share) * BATCH_EVENTS)
                        print(f"round {r} {arm:8s} {min(per_round, len(share) * BATCH_EVENTS) / seconds:9.0f} "
                              "events/s", flush=True)
                        continue
                    else:
                        seconds, cpu, rss, summary = run_shipper(server.url, log_dir, root / f"state-{r}")
                        assert summary["acknowledged"] == per_round, summary
                        totals["shipper_s"] += seconds
                        totals["cpu_s"] += cpu
                        totals["rss"] = max(totals["rss"], rss)
                        totals["events"] += per_round
                    print(f"round {r} {arm:8s} {per_round / seconds:9.0f} events/s", flush=True)
            del bodies
    finally:
        shutil.rmtree(root, ignore_errors=True)
    events = totals["events"]
    net_cpu = totals["cpu_s"] - ROUNDS * fixed_cpu
    print(f"\n{events} events of ~400 bytes in {ROUNDS} rounds, {IN_FLIGHT} requests in flight, osmem-server")
    baseline_rate = totals["baseline_events"] / totals["baseline_s"]
    shipper_rate = events / totals["shipper_s"]
    print(f"baseline (pre-built bodies)   {baseline_rate:10.0f} events/s wall ({totals['baseline_events']} events)")
    print(f"shipper                       {shipper_rate:10.0f} events/s wall "
          f"(ratio shipper/baseline {shipper_rate / baseline_rate:.2f})")
    print(f"shipper CPU                   {totals['cpu_s'] / events * 100_000:10.3f} s per 100,000 events "
          f"= {events / totals['cpu_s']:.0f} events per CPU-second")
    print(f"  net of fixed cost {fixed_cpu:.2f} s/process  {net_cpu / events * 100_000:10.3f} s per 100,000 events "
          f"= {events / net_cpu:.0f} events per CPU-second")
    print(f"shipper peak RSS              {totals['rss'] / 2**20:10.1f} MB (idle process: {fixed_rss / 2**20:.1f} MB)")


if __name__ == "__main__":
    main()
