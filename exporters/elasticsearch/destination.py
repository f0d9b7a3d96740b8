"""Where shipped lines go: index naming, the ECS index template, the ILM policy, and mode detection.

Two layouts:

- ``data_stream`` (Elasticsearch 8/9): ``logs-islandrides.<service>-<namespace>``, following the data stream
  naming scheme (type-dataset-namespace; a dataset cannot hold ``-``, so ``island-api`` becomes
  ``island_api``), rolled over and deleted by the ILM policy ``islandrides-logs``.
- ``daily_index`` (OpenSearch-compatible servers, which have no Elasticsearch data streams or ILM here):
  ``islandrides-logs-<service>-YYYY.MM.DD``, the day taken from the line's ``@timestamp``.

Both get an index template with ECS mappings for the fields this project's log lines carry, plus those
the shipper adds (``host.name``, ``log.file.path``, ``log.offset``, ``event.original``, ``log.flags``).
"""
from __future__ import annotations

from typing import Any, Literal

from elasticsearch import Elasticsearch

Mode = Literal["data_stream", "daily_index"]
TEMPLATE_NAME = "islandrides-logs"
ILM_POLICY_NAME = "islandrides-logs"
DAILY_PATTERN = "islandrides-logs-*"
DATA_STREAM_PATTERN = "logs-islandrides.*-*"
# Above the built-in ``logs-*-*`` template (priority 100) so ours wins for our data streams.
TEMPLATE_PRIORITY = 200

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_UNINDEXED = {"type": "keyword", "index": False, "doc_values": False}


def _tree(flat: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Turn ``{"a.b": mapping}`` into nested ``properties`` objects."""
    root: dict[str, Any] = {}
    for dotted, mapping in flat.items():
        node = root
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = mapping
    return root


ECS_FIELDS: dict[str, dict[str, Any]] = {
    "@timestamp": {"type": "date"},
    "message": {"type": "text"},
    "log.level": _KEYWORD,
    "log.logger": _KEYWORD,
    "log.file.path": _KEYWORD,
    "log.offset": {"type": "long"},
    "log.flags": _KEYWORD,
    "service.name": _KEYWORD,
    "service.version": _KEYWORD,
    "host.name": _KEYWORD,
    "trace.id": _KEYWORD,
    "span.id": _KEYWORD,
    "transaction.id": _KEYWORD,
    "http.request.method": _KEYWORD,
    "http.response.status_code": {"type": "long"},
    "url.path": _KEYWORD,
    "event.duration": {"type": "long"},
    "event.original": _UNINDEXED,
    "user.id": _KEYWORD,
    "client.ip": {"type": "ip"},
    "user_agent.original": {"type": "keyword", "ignore_above": 1024, "fields": {"text": {"type": "text"}}},
    "error.type": _KEYWORD,
    "error.message": {"type": "text"},
    "error.stack_trace": {"type": "text", "index": False},
}


def mappings(index_unmapped_fields: bool = True) -> dict[str, Any]:
    """The ECS mappings of the index template; other string fields become keywords, as ECS templates do.

    With ``index_unmapped_fields`` false, fields outside the template are kept in ``_source`` only
    (``dynamic: false``): no mapping explosion, and indexing costs much less.
    """
    return {
        "dynamic": index_unmapped_fields,
        "dynamic_templates": [
            {"strings_as_keyword": {"match_mapping_type": "string", "mapping": _KEYWORD}},
        ],
        "properties": _tree(ECS_FIELDS),
    }


def detect_mode(client: Elasticsearch) -> Mode:
    """``data_stream`` for Elasticsearch 8 and later, ``daily_index`` for OpenSearch-compatible servers."""
    version = client.info()["version"]
    if version.get("distribution") == "opensearch":
        return "daily_index"
    major = int(str(version.get("number", "0")).split(".", 1)[0] or 0)
    return "data_stream" if major >= 8 else "daily_index"


def ilm_policy(max_primary_shard_size: str, max_age: str, delete_after: str) -> dict[str, Any]:
    """Roll over at a shard size or an age, whichever first; delete ``delete_after`` after rollover."""
    return {
        "phases": {
            "hot": {"actions": {"rollover": {"max_primary_shard_size": max_primary_shard_size,
                                             "max_age": max_age}}},
            "delete": {"min_age": delete_after, "actions": {"delete": {}}},
        }
    }


def ensure_destination(client: Elasticsearch, mode: Mode, ilm: dict[str, str] | None = None,
                       index_unmapped_fields: bool = True) -> None:
    """Create or update the index template (and, for data streams, the ILM policy). Idempotent."""
    template: dict[str, Any] = {"mappings": mappings(index_unmapped_fields)}
    if mode == "data_stream":
        ilm = ilm or {}
        client.ilm.put_lifecycle(name=ILM_POLICY_NAME, policy=ilm_policy(
            ilm.get("max_primary_shard_size", "50gb"), ilm.get("max_age", "1d"), ilm.get("delete_after", "30d")))
        template["settings"] = {"index": {"lifecycle": {"name": ILM_POLICY_NAME}}}
        client.indices.put_index_template(name=TEMPLATE_NAME, index_patterns=[DATA_STREAM_PATTERN],
                                          data_stream={}, priority=TEMPLATE_PRIORITY, template=template,
                                          meta={"managed_by": "island-agent"})
    else:
        client.indices.put_index_template(name=TEMPLATE_NAME, index_patterns=[DAILY_PATTERN],
                                          priority=TEMPLATE_PRIORITY, template=template,
                                          meta={"managed_by": "island-agent"})


def data_stream_name(service: str, namespace: str) -> str:
    """``logs-islandrides.<service>-<namespace>`` with ``-`` in the service name made ``_``."""
    return f"logs-islandrides.{service.replace('-', '_')}-{namespace}"


def daily_index_name(service: str, day: str) -> str:
    """``islandrides-logs-<service>-YYYY.MM.DD`` for ``day`` given as ``YYYY-MM-DD``."""
    return f"islandrides-logs-{service}-{day.replace('-', '.')}"
