"""One health check per protocol, one signature, one result type (see ``checks.base``).

``REGISTRY`` maps the ``type`` of a check in the agent's config to its ``CheckType``: the options model
that validates the check's ``options`` and the ``run(target, options, deadline)`` coroutine function.
Adding a protocol means one new module and one entry below.

``scrub(text, secrets=())`` is re-exported here: callers outside the package (the agent's logs and
pages) scrub with the same rules the checks use.
"""

from __future__ import annotations

from typing import Any

from checks import disk, dns, elasticsearch, http, postgres, redis, smtp, tcp, tls, websocket
from checks.base import CheckResult, CheckType, Deadline, DeadlineExceeded, Options, Status
from checks.scrub import scrub

REGISTRY: dict[str, CheckType[Any]] = {
    check.name: check
    for check in (
        CheckType("postgres", postgres.Options, postgres.run, component_type="datastore"),
        CheckType("redis", redis.Options, redis.run, component_type="datastore"),
        CheckType("http", http.Options, http.run),
        CheckType("tcp", tcp.Options, tcp.run),
        CheckType("dns", dns.Options, dns.run, component_type="system"),
        CheckType("tls", tls.Options, tls.run),
        CheckType("smtp", smtp.Options, smtp.run),
        CheckType("websocket", websocket.Options, websocket.run),
        CheckType("elasticsearch", elasticsearch.Options, elasticsearch.run, component_type="datastore"),
        CheckType("disk", disk.Options, disk.run, component_type="system"),
    )
}

__all__ = [
    "REGISTRY",
    "CheckResult",
    "CheckType",
    "Deadline",
    "DeadlineExceeded",
    "Options",
    "Status",
    "scrub",
]
