"""Elasticsearch (or OpenSearch): ``GET /_cluster/health``; green passes, yellow warns, red fails.

The target is the cluster's base URL (``https://user:password@es:9200``). Authentication: basic (from
the URL or ``username``/``password``) or an API key (``Authorization: ApiKey ...``). Observed value: the
cluster status; measurements: nodes, shard counts and the request latency.
"""

from __future__ import annotations

import json
import time

from pydantic import Field, SecretStr

from checks.base import CheckResult, Deadline, Status
from checks.certificates import TlsClientOptions, client_context
from checks.guard import TargetError, guarded
from checks.http_request import HTTP_ALPN, HTTP_ERRORS, HttpUrl, basic_auth, new_pool, send

_STATUS = {"green": Status.PASS, "yellow": Status.WARN, "red": Status.FAIL}
_NUMBERS = (
    "number_of_nodes",
    "number_of_data_nodes",
    "active_shards",
    "relocating_shards",
    "initializing_shards",
    "unassigned_shards",
    "number_of_pending_tasks",
    "active_shards_percent_as_number",
)


class ElasticsearchOptions(TlsClientOptions):
    """Options of the ``elasticsearch`` check."""

    username: str | None = Field(default=None, description="basic auth user (or put it in the target URL)")
    password: SecretStr | None = Field(default=None, description="basic auth password")
    api_key: SecretStr | None = Field(
        default=None, description="base64 API key, sent as Authorization: ApiKey"
    )


Options = ElasticsearchOptions  # the name every check module exposes


@guarded(*HTTP_ERRORS)
async def run(target: str, options: ElasticsearchOptions, deadline: Deadline) -> CheckResult:
    """Read the cluster health of ``target`` within ``deadline`` and map its colour to a status."""
    url = HttpUrl.parse(target).with_path("/_cluster/health")
    headers = {"Accept": "application/json"}
    if options.api_key is not None:
        headers["Authorization"] = f"ApiKey {options.api_key.get_secret_value()}"
    elif options.username is not None:
        headers["Authorization"] = basic_auth(
            options.username, options.password.get_secret_value() if options.password else ""
        )
    started = time.monotonic()
    async with new_pool(client_context(options, alpn=HTTP_ALPN)) as pool:
        response = await send(pool, "GET", url, deadline, headers=headers, step="GET /_cluster/health")
    latency = time.monotonic() - started
    if response.status != 200:
        reason = response.text()[:200].strip()
        raise TargetError(f"GET /_cluster/health answered HTTP {response.status}: {reason}")
    try:
        health = json.loads(response.text())
        colour = str(health["status"])
    except (ValueError, KeyError, TypeError):
        raise TargetError("GET /_cluster/health did not answer a JSON object with a status") from None
    measurements = {key: float(health[key]) for key in _NUMBERS if isinstance(health.get(key), (int, float))}
    measurements["latency_s"] = latency
    if colour not in _STATUS:
        raise TargetError(f"GET /_cluster/health answered an unknown status {colour[:40]!r}")
    status = _STATUS[colour]
    name, nodes = health.get("cluster_name", "?"), health.get("number_of_nodes", "?")
    active, unassigned = health.get("active_shards", "?"), health.get("unassigned_shards", "?")
    output = f"cluster {name} is {colour}: {nodes} nodes, {active} active and {unassigned} unassigned shards"
    return CheckResult(
        status,
        output,
        observed_value=colour,
        observed_unit="status",
        measurements=measurements,
        tls_not_after=response.not_after,
    )
