"""The generated dashboards: up to date, well-formed, and naming only metrics that exist."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dashboards import build
from dashboards.queries import all_queries, load, metric_names, panel_queries, substitute
from tests.dashboards.emitted import emitted_metric_names

DASHBOARDS = Path(build.__file__).resolve().parent
RULE_FILES = sorted((DASHBOARDS / "rules").glob("*.yml"))


def rules() -> list[dict]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def test_committed_json_equals_a_fresh_build() -> None:
    assert build.stale_files() == [], "run: .venv/bin/python -m dashboards.build"


def test_check_mode_notices_an_edited_file(tmp_path: Path) -> None:
    build.write(tmp_path)
    assert build.stale_files(tmp_path) == []
    edited = tmp_path / f"{build.api_overview.UID}.json"
    edited.write_text(edited.read_text().replace("Request rate", "Request rat"))
    (tmp_path / "orphan.json").write_text("{}")
    assert build.stale_files(tmp_path) == ["island-rides-api.json", "orphan.json"]


def test_every_metric_in_dashboards_and_rules_is_emitted_by_code() -> None:
    known = emitted_metric_names() | recorded_names() | {"up", "ALERTS"}  # the last two: Prometheus' own
    exprs = [q.expr for q in all_queries()] + [rule["expr"] for rule in rules()]
    used = set().union(*(metric_names(e) for e in exprs))
    assert "http_server_request_duration_seconds_bucket" in used
    assert used - known == set()


def test_metric_name_lexer() -> None:
    expr = ('(sum by (http_route) (rate(a_total{job=~"$job", le="0.5"}[5m])) or 0 * b) / on (job) '
            'histogram_quantile(0.9, c_bucket) > bool 1 unless ignoring(x) job:d:rate5m offset 5m')
    assert metric_names(expr) == {"a_total", "b", "c_bucket", "job:d:rate5m"}


def test_substitute_fills_every_variable_and_refuses_unknown_ones() -> None:
    expr = 'rate(x{job=~"$job", instance=~"${instance}"}[$__rate_interval])'
    assert substitute(expr, {"job": "api", "instance": ".+"}) == 'rate(x{job=~"api", instance=~".+"}[1m])'
    with pytest.raises(KeyError, match=r"\$instance"):
        substitute(expr, {"job": "api"})


@pytest.mark.parametrize("path", sorted(build.GENERATED.glob("*.json")), ids=lambda p: p.stem)
def test_dashboard_is_well_formed(path: Path) -> None:
    board = load(path)
    assert {v["name"] for v in board["templating"]["list"]} == {"datasource", "job", "instance"}
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel.get("description"), f"{panel['title']}: no description"
        if panel["type"] in ("timeseries", "stat"):
            assert panel["fieldConfig"]["defaults"].get("unit"), f"{panel['title']}: no unit"
    assert [q.panel for q in panel_queries(board) if q.panel.startswith("annotation:")] == ["annotation: Firing alerts"]
    for query in panel_queries(board):
        assert '$job"' in query.expr, f"{query.panel}: not filtered by $job"
        if query.panel.split(":")[0] not in ("Availability SLO", "Latency SLO", "annotation"):  # job only
            assert 'instance=~"$instance"' in query.expr, f"{query.panel}: not filtered by $instance"
