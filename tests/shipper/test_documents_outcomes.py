"""Scenarios 4, 5 and 6 of issue 5: odd lines, a mapping conflict, and 429s for part of a batch."""
from __future__ import annotations

from pathlib import Path

import orjson
from prometheus_client import REGISTRY

from agent.shipper import Shipper
from tests.shipper.support import all_docs, client, count, ecs_line, seqs, shipper_config, write_lines


async def test_malformed_oversized_and_binary_lines_are_all_shipped(tmp_path: Path, osmem) -> None:
    good = [ecs_line(i) for i in range(50)]
    odd = [b"plain text, not JSON\n", b"\xff\xfe\x00binary\x01 bytes\n", b"[1, 2, 3]\n", b'{"unterminated": \n',
           b'{"message": "' + b"L" * 5000 + b'"}\n', b"x" * 3000 + b"\n"]
    write_lines(tmp_path / "app.log", good[:25] + odd + good[25:])
    config = shipper_config(tmp_path, osmem.url, [str(tmp_path / "*.log")], max_line_bytes=1024)
    shipper = Shipper(config)
    await shipper.run_until_caught_up()

    es = client(osmem.url)
    docs = all_docs(es)
    assert count(es) == len(good) + len(odd) == len(docs)
    assert sorted(seqs(docs)) == list(range(50))
    by_type = [d.get("error.type") for d in docs]
    assert by_type.count("log_line_not_json") == 4
    assert by_type.count("log_line_truncated") == 2
    truncated = [d for d in docs if d.get("error.type") == "log_line_truncated"]
    assert all(d["log.flags"] == ["truncated"] and len(d["message"]) == 1024 for d in truncated)
    binary = next(d for d in docs if "binary" in d["message"])
    assert binary["event.original"] == "\\xff\\xfe\x00binary\x01 bytes" and binary["log.flags"] == ["invalid_utf8"]
    assert shipper.stats.acknowledged == len(docs) and shipper.stats.dead_lettered == 0


async def test_mapping_conflict_goes_to_the_dead_letter_file_once(tmp_path: Path, osmem) -> None:
    bad = {7, 19, 33}
    lines = [ecs_line(i, **({"http.response.status_code": "not-a-number"} if i in bad else
                            {"http.response.status_code": 200})) for i in range(60)]
    write_lines(tmp_path / "app.log", lines)
    config = shipper_config(tmp_path, osmem.url, [str(tmp_path / "*.log")])
    shipper = Shipper(config)
    await shipper.run_until_caught_up()

    es = client(osmem.url)
    assert sorted(seqs(all_docs(es))) == sorted(set(range(60)) - bad)
    records = [orjson.loads(line) for line in config.dead_letter_file.read_bytes().splitlines()]
    assert sorted(int(orjson.loads(r["document"])["message"].split()[1]) for r in records) == sorted(bad)
    assert all(r["status"] == 400 and r["error"]["type"] == "mapper_parsing_exception" for r in records)
    assert shipper.stats.dead_lettered == 3 and shipper.stats.acknowledged == 57 and shipper.stats.retried == 0
    # Nothing left to retry: the checkpoint covers the whole file.
    checkpoint = orjson.loads((tmp_path / "state" / "checkpoints.json").read_bytes())
    assert [c["offset"] for c in checkpoint["files"].values()] == [(tmp_path / "app.log").stat().st_size]


async def test_429_for_part_of_a_batch_retries_only_those_items(tmp_path: Path, osmem, proxy) -> None:
    total = 3000
    write_lines(tmp_path / "app.log", [ecs_line(i) for i in range(total)])
    proxy.reject_429(every=7)
    config = shipper_config(tmp_path, proxy.url, [str(tmp_path / "*.log")],
                            elasticsearch={"api_key": "aWQ6c2VjcmV0"})
    retried_before = _metric("retried")
    shipper = Shipper(config)
    await shipper.run_until_caught_up()

    es = client(osmem.url)
    assert count(es) == total
    assert sorted(seqs(all_docs(es))) == list(range(total))
    rejected = proxy.rejected
    assert 0 < len(rejected) < total
    assert {i for i, n in proxy.seen.items() if n == 2} == rejected  # each rejected item sent once more
    assert all(n == 1 for i, n in proxy.seen.items() if i not in rejected)  # the others exactly once
    assert len(proxy.seen) == total
    assert shipper.stats.retried == len(rejected) == _metric("retried") - retried_before
    assert shipper.stats.acknowledged == total and shipper.stats.duplicates == 0
    assert proxy.last_headers["authorization"] == "ApiKey aWQ6c2VjcmV0"
    assert proxy.last_headers["content-encoding"] == "gzip"


def _metric(outcome: str) -> float:
    return REGISTRY.get_sample_value("island_shipper_events_total", {"outcome": outcome}) or 0.0
