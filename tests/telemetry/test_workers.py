"""``island-api serve --workers 2``: metrics from both workers add up in every scrape (prometheus_client
multiprocess mode), and the access lines of both workers reach the one api.log."""
from __future__ import annotations

import asyncio
import re

import httpx

from tests.telemetry.conftest import access_lines

BATCH = 40
MAX_BATCHES = 15  # the second worker may still be importing when the port opens: keep going until it serves


def _islands_count(scrape: str) -> float:
    total = 0.0
    for match in re.finditer(r'^http_server_request_duration_seconds_count\{([^}]*)\} ([\d.e+]+)$', scrape, re.MULTILINE):
        labels = match.group(1)
        if 'http_route="/v1/islands"' in labels and 'http_response_status_code="200"' in labels:
            total += float(match.group(2))
    return total


def _worker_pids(log_dir) -> set[int]:
    return {a["process"]["pid"] for a in access_lines(log_dir) if a["url"]["path"] == "/v1/islands"}


async def test_two_workers_counts_add_up(live_api, log_dir):
    sent = 0
    with live_api(workers=2) as api:
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection each time: both workers serve
        async with httpx.AsyncClient(base_url=api.url, limits=limits, timeout=30) as client:
            semaphore = asyncio.Semaphore(8)

            async def one() -> int:
                async with semaphore:
                    return (await client.get("/v1/islands")).status_code

            for _ in range(MAX_BATCHES):
                statuses = await asyncio.gather(*(one() for _ in range(BATCH)))
                assert statuses == [200] * BATCH
                sent += BATCH
                if sent >= 2 * BATCH and len(_worker_pids(log_dir)) == 2:
                    break
            scrapes = [(await client.get("/metrics")).text for _ in range(6)]
    assert len(_worker_pids(log_dir)) == 2  # both workers served and logged to the same file
    assert [_islands_count(s) for s in scrapes] == [sent] * len(scrapes)
    assert len([a for a in access_lines(log_dir) if a["url"]["path"] == "/v1/islands"]) == sent
    assert "http_server_active_requests" in scrapes[0]
