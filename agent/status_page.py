"""The data behind ``/status``: every check's state, last output and recent history.

The HTML page (``status.html``, static) fetches ``/status.json`` every few seconds and redraws itself;
without JavaScript a ``<meta refresh>`` reloads it.
"""
from __future__ import annotations

import time
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from agent.health import aggregate, check_key, check_status
from agent.state import CheckView

if TYPE_CHECKING:
    from agent.core import HealthAgent

STATUS_HTML = files("agent").joinpath("status.html").read_text(encoding="utf-8")


def _check_entry(agent: HealthAgent, view: CheckView, show_output: bool) -> dict[str, Any]:
    name, last = view.name, view.last
    spec, state = agent.specs[name], agent.states[name]
    return {
        "name": name,
        "key": check_key(spec),
        "type": spec.config.type,
        "critical": spec.config.critical,
        "groups": spec.config.groups,
        "description": spec.config.description,
        "status": check_status(view),
        "stale": view.stale,
        "output": view.output if show_output else "",
        "durationMs": round(last.duration_s * 1000, 1) if last else None,
        "lastRun": last.finished_at if last else None,
        "intervalS": spec.config.interval,
        "history": [
            {"s": r.status.value, "t": r.finished_at, "d": round(r.duration_s * 1000, 1)} for r in state.history
        ],
    }


def status_document(agent: HealthAgent, show_output: bool) -> dict[str, Any]:
    """The JSON the status page renders."""
    now = time.time()
    views = agent.views(now)
    verdict = aggregate(views.values(), agent.specs)
    return {
        "status": verdict.status,
        "now": now,
        "refreshSeconds": agent.config.status_page.refresh_seconds,
        "historySize": agent.config.history_size,
        "checks": [_check_entry(agent, views[name], show_output) for name in sorted(views)],
    }
