"""Aggregating check views into the answers of /health, /health/{group} and /readyz.

Pure functions of the views: the same views give the same answer, whoever asks and however often.
Aggregation (Spring Boot's ordered status list, the IETF draft's three values): a failing critical check
fails the whole (503); a failing non-critical check or any warn makes it warn (200); otherwise pass (200).
A check with no result yet counts as failing: nothing is known to be healthy before it has been checked.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.config import CheckSpec
from agent.state import UNKNOWN, CheckView

HEALTH_MEDIA_TYPE = "application/health+json"
SERVICE_ID = "island-agent"
# The "measurement" half of "component:measurement" when the config does not name one.
DEFAULT_MEASUREMENT = {
    "disk": "freeSpace",
    "tls": "certificateExpiry",
    "elasticsearch": "clusterHealth",
    "shipper": "backlog",
}


@dataclass(frozen=True)
class Verdict:
    status: str  # pass | warn | fail
    http_status: int


def check_status(view: CheckView) -> str:
    """The IETF status of one check: unknown (no result yet) reports as fail."""
    return "fail" if view.state == UNKNOWN else view.state


def aggregate(views: Iterable[CheckView], specs: Mapping[str, CheckSpec]) -> Verdict:
    """Overall verdict of ``views``: critical fail -> fail/503; other fail or warn -> warn/200; else pass/200."""
    worst = "pass"
    for view in views:
        status = check_status(view)
        if status == "fail" and specs[view.name].config.critical:
            return Verdict("fail", 503)
        if status != "pass":
            worst = "warn"
    return Verdict(worst, 200)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _entry(view: CheckView, spec: CheckSpec, details: bool, now: float) -> dict[str, Any]:
    status = check_status(view)
    last = view.last
    entry: dict[str, Any] = {
        "status": status,
        "componentType": spec.check_type.component_type,
        "time": _iso(last.finished_at if last is not None else now),
    }
    if details:
        if last is not None and last.observed_value is not None:
            entry["observedValue"] = last.observed_value
            if last.observed_unit:
                entry["observedUnit"] = last.observed_unit
        if status != "pass" and view.output:  # the draft: output SHOULD be omitted for pass
            entry["output"] = view.output
    return entry


def check_key(spec: CheckSpec) -> str:
    """``component:measurement`` for a check, e.g. ``postgres:responseTime``."""
    measurement = spec.config.measurement or DEFAULT_MEASUREMENT.get(spec.config.type, "responseTime")
    return f"{spec.name}:{measurement}"


def health_document(views: Iterable[CheckView], specs: Mapping[str, CheckSpec], details: bool, now: float,
                    description: str = "Island Rides dependencies") -> tuple[int, dict[str, Any]]:
    """The ``application/health+json`` body for ``views`` and its HTTP status code."""
    views = list(views)
    verdict = aggregate(views, specs)
    body = {
        "status": verdict.status,
        "serviceId": SERVICE_ID,
        "description": description,
        "checks": {check_key(specs[v.name]): [_entry(v, specs[v.name], details, now)] for v in views},
    }
    return verdict.http_status, body


def readyz_text(views: Iterable[CheckView], specs: Mapping[str, CheckSpec], exclude: Iterable[str],
                verbose: bool, details: bool) -> tuple[int, str]:
    """Kubernetes-style readiness over the critical checks: ``[+]name ok`` / ``[-]name failed: reason``."""
    excluded = set(exclude)
    lines, ready = [], True
    critical = [v for v in views if specs[v.name].config.critical]
    for view in critical:
        if view.name in excluded:
            lines.append(f"[+]{view.name} excluded: ok")
            continue
        if check_status(view) == "fail":
            ready = False
            reason = view.output if details else "reason withheld"
            lines.append(f"[-]{view.name} failed: {reason}")
        else:
            lines.append(f"[+]{view.name} ok")
    unmatched = sorted(excluded - {v.name for v in critical})
    if unmatched:
        lines.append("warn: some health checks cannot be excluded: no matches for " + ",".join(f'"{n}"' for n in unmatched))
    verdict = "readyz check passed" if ready else "readyz check failed"
    if ready and not verbose:
        return 200, "ok"
    # Like the Kubernetes API server: a failure always lists every check, so the probe log says which one.
    return (200 if ready else 503), "\n".join([*lines, verdict]) + "\n"
