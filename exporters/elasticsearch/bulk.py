"""Bulk delivery through the official client, with every item's outcome classified.

``BulkSink.send`` posts one pre-built NDJSON body (the shipper builds bodies as bytes; the client's NDJSON
serializer passes bytes through) and never raises for anything Elasticsearch or the network does: it
returns which items were indexed, which already existed (409 on ``create``: a replay), which must be retried
(429, 5xx, connection errors) and which were refused for good (other 4xx: mapping conflicts, parse errors).

The shipper does its own retrying (only the failed items, with backoff, for as long as it takes), so the
client's own retries are off. We use ``client.bulk`` directly rather than ``helpers.streaming_bulk``: the
helper serialises every action dict with ``json.dumps`` and re-chunks them, which is the per-line cost the
shipper avoids by sending lines as they are; it also retries only 429 and gives up after ``max_retries``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer

from exporters.elasticsearch import metrics
from exporters.elasticsearch.node import node_class_with_level

# Only what the classification needs, so a response of thousands of successes stays small.
FILTER_PATH = "errors,items.*.status,items.*.error"


def make_client(hosts: list[str], *, api_key: str | None = None, basic_auth: tuple[str, str] | None = None,
                ca_file: Path | None = None, verify_certs: bool = True, request_timeout: float = 30.0,
                compression_level: int = 1) -> Elasticsearch:
    """An ``Elasticsearch`` client for bulk shipping (plain JSON media types, our gzip level, no retries)."""
    kwargs: dict[str, Any] = {}
    if api_key:
        kwargs["api_key"] = api_key
    if basic_auth:
        kwargs["basic_auth"] = basic_auth
    if ca_file:
        kwargs["ca_certs"] = str(ca_file)
    if any(h.startswith("https:") for h in hosts):
        kwargs["verify_certs"] = verify_certs
    return Elasticsearch(
        hosts, node_class=node_class_with_level(max(compression_level, 1)),
        http_compress=compression_level > 0, request_timeout=request_timeout, max_retries=0,
        retry_on_timeout=False,
        serializers={"application/json": OrjsonSerializer(), "application/x-ndjson": BytesNdjsonSerializer()},
        # The shipper backs off itself; the pool's own dead-node timeout (up to 30 s) would add to it.
        dead_node_backoff_factor=0.5, max_dead_node_backoff=2.0, **kwargs,
    )


@dataclass
class ItemError:
    """An item Elasticsearch refused for good."""

    position: int
    status: int
    error: Any


@dataclass
class BulkResult:
    """The outcome of one bulk request; positions index the items of the request body."""

    created: int = 0
    duplicates: int = 0
    retry: list[int] = field(default_factory=list)
    rejected: list[ItemError] = field(default_factory=list)
    split: bool = False  # the request as a whole was refused (400/413): send the items in smaller requests
    failure: str | None = None  # why items must be retried, for logs and health
    status: int | None = None  # HTTP status of a request refused as a whole


class BulkSink:
    """Sends bulk bodies with one client (thread-safe: urllib3's pool hands each thread its connection)."""

    def __init__(self, client: Elasticsearch) -> None:
        self.client = client

    def send(self, body: bytes, count: int) -> BulkResult:
        """POST ``body`` (``count`` create items) to ``_bulk``; classify every item. Never raises."""
        started = time.perf_counter()
        try:
            # bytes pass through the NDJSON serializer untouched (BytesNdjsonSerializer), whatever the stubs say
            response = self.client.bulk(operations=body, filter_path=FILTER_PATH)  # type: ignore[arg-type]
        except ApiError as exc:
            return _whole_request_failed(exc.meta.status, f"HTTP {exc.meta.status}: {exc.message}", count)
        except (TransportConnectionError, TransportError) as exc:
            return BulkResult(retry=list(range(count)), failure=f"{type(exc).__name__}: {exc}")
        finally:
            metrics.BULK_DURATION.observe(time.perf_counter() - started)
        return classify_items(response.body, count)

    def close(self) -> None:
        self.client.close()


def _whole_request_failed(status: int, reason: str, count: int) -> BulkResult:
    if status in (400, 413):
        return BulkResult(split=True, failure=reason, status=status)
    # 5xx, 429, auth and everything else: the documents may be fine, keep them and retry.
    return BulkResult(retry=list(range(count)), failure=reason, status=status)


def classify_items(body: Any, count: int) -> BulkResult:
    """Sort the items of a bulk response into created, duplicates, retry and rejected."""
    result = BulkResult()
    if not isinstance(body, dict):
        return BulkResult(retry=list(range(count)), failure="bulk response is not a JSON object")
    if body.get("errors") is False and not body.get("items"):
        result.created = count  # some servers drop all-success items under filter_path
        return result
    items = body.get("items") or []
    if len(items) != count:
        return BulkResult(retry=list(range(count)),
                          failure=f"bulk response has {len(items)} items for {count} sent")
    for position, item in enumerate(items):
        outcome: dict[str, Any] = next(iter(item.values()), {}) if isinstance(item, dict) else {}
        status = int(outcome.get("status", 0) or 0)
        if 200 <= status < 300:
            result.created += 1
        elif status == 409:
            result.duplicates += 1
        elif status == 429 or status >= 500 or status == 0:
            result.retry.append(position)
            result.failure = f"item status {status}: {_reason(outcome.get('error'))}"
        else:
            result.rejected.append(ItemError(position, status, outcome.get("error")))
    return result


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error)


class BytesNdjsonSerializer(NdjsonSerializer):
    """Passes a ready NDJSON body (bytes) through as it is.

    The stock serializer copies every body into a new bytearray to make sure it ends with a newline; ours
    always does, and the copy is a megabyte per request held while it is sent.
    """

    def dumps(self, data: Any) -> bytes:
        if isinstance(data, bytes) and data.endswith(b"\n"):
            return data
        return super().dumps(data)
