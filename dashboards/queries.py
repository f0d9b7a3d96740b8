"""Read the generated dashboards back: every panel query, with Grafana's variables substituted.

Used by the tests (every query must parse and return data from a real Prometheus, and name only metrics
the code emits) and handy for linting dashboards by hand:
``python -m dashboards.queries`` prints each query as Prometheus would receive it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

GENERATED = Path(__file__).resolve().parent / "generated"
# Values for Grafana's built-in variables that suit a short test run; the template variables
# ($job, $instance) come from the caller.
BUILTINS = {"__rate_interval": "1m", "__range": "5m", "__interval": "15s"}
_PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                 "offset", "inf", "nan", "le"}


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel."""

    dashboard: str  # uid
    panel: str  # title
    ref_id: str
    expr: str


def load(path: Path) -> dict:
    """A generated dashboard's JSON."""
    return json.loads(path.read_text())


def panel_queries(board: Mapping) -> Iterator[PanelQuery]:
    """Every Prometheus target in ``board`` (panels inside collapsed rows too) and its annotation queries."""
    for annotation in board.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            yield PanelQuery(board["uid"], f"annotation: {annotation['name']}", "", annotation["expr"])
    for panel in board.get("panels", []):
        for nested in [panel, *panel.get("panels", [])]:
            for target in nested.get("targets", []):
                if target.get("expr"):
                    yield PanelQuery(board["uid"], nested.get("title", ""), target.get("refId", ""), target["expr"])


def all_queries(directory: Path = GENERATED) -> list[PanelQuery]:
    """The queries of every generated dashboard."""
    return [q for path in sorted(directory.glob("*.json")) for q in panel_queries(load(path))]


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace ``$name`` and ``${name}`` by ``values`` and Grafana's built-ins (``$__rate_interval``...)."""
    merged = {**BUILTINS, **values}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in merged:
            raise KeyError(f"no value for variable ${name} in {expr!r}")
        return merged[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, expr)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (a PromQL lexer good enough for our own queries)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):  # not the unit of "5m"
        following = text[match.end():].lstrip()[:1]
        word = match.group(0)
        if following != "(" and word.lower() not in _PROMQL_WORDS and not word.startswith("$"):
            names.add(word)
    return names


if __name__ == "__main__":
    for q in all_queries():
        print(f"{q.dashboard} | {q.panel} [{q.ref_id}]\n  {substitute(q.expr, {'job': '.+', 'instance': '.+'})}")
