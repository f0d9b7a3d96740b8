"""The Prometheus rules and the Alertmanager config: promtool/amtool clean, every alert documented."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
RULE_FILES = sorted((DASHBOARDS / "rules").glob("*.yml"))
ALERTS_FILE = DASHBOARDS / "rules" / "island-rides.alerts.yml"
RUNBOOK = DASHBOARDS / "RUNBOOK.md"


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: run `make test` (scripts/install-system-deps.sh installs it)"
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=False, capture_output=True, text=True, cwd=DASHBOARDS, timeout=60)


def alerting_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS_FILE.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_check_rules_is_clean() -> None:
    result = run(tool("promtool"), "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    tests = sorted(str(p) for p in (DASHBOARDS / "tests").glob("*.yaml"))
    assert tests
    result = run(tool("promtool"), "test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alerting_rule_has_firing_and_quiet_promtool_cases() -> None:
    """Each rule (alert name and severity) fires in some case; each alert name stays quiet in another."""
    fires, quiet = set(), set()
    for path in (DASHBOARDS / "tests").glob("*.yaml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    fires.update((check["alertname"], a["exp_labels"]["severity"]) for a in check["exp_alerts"])
                else:
                    quiet.add(check["alertname"])
    for rule in alerting_rules():
        assert (rule["alert"], rule["labels"]["severity"]) in fires, f"no promtool case where {rule['alert']} " \
            f"({rule['labels']['severity']}) fires"
        assert rule["alert"] in quiet, f"no promtool case where {rule['alert']} stays quiet"


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda r: f"{r['alert']}-{r['labels']['severity']}")
def test_alert_has_severity_annotations_and_a_runbook_anchor(rule: dict) -> None:
    assert rule["labels"]["severity"] in ("critical", "warning")
    for key in ("summary", "description", "runbook_url"):
        assert rule["annotations"].get(key), f"{rule['alert']}: annotation {key} missing"
    path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
    assert path == "dashboards/RUNBOOK.md"
    headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                for h in re.findall(r"^## (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)}
    assert anchor in headings, f"{rule['alert']}: RUNBOOK.md has no section #{anchor}"


def test_alertmanager_config_is_valid() -> None:
    result = run(tool("amtool"), "check-config", str(DASHBOARDS / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_refuses_a_broken_config(tmp_path: Path) -> None:
    """The check above can fail: amtool rejects a route to a receiver that does not exist."""
    config = yaml.safe_load((DASHBOARDS / "alertmanager.yml").read_text())
    config["route"]["receiver"] = "nobody"
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(yaml.safe_dump(config))
    assert run(tool("amtool"), "check-config", str(broken)).returncode != 0


def test_example_prometheus_config_is_valid() -> None:
    result = run(tool("promtool"), "check", "config", str(DASHBOARDS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("labels", "receiver"), [
    (["severity=critical", "alertname=ApiDown"], "oncall-webhook"),
    (["severity=warning", "alertname=DependencyProbeFailing"], "team-webhook"),
    (["alertname=SomethingWithoutSeverity"], "team-webhook"),
])
def test_alertmanager_routes_by_severity(labels: list[str], receiver: str) -> None:
    result = run(tool("amtool"), "config", "routes", "test", f"--config.file={DASHBOARDS / 'alertmanager.yml'}",
                 *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def test_alerts_name_the_jobs_of_the_example_scrape_config() -> None:
    jobs = {c["job_name"] for c in yaml.safe_load((DASHBOARDS / "prometheus.yml").read_text())["scrape_configs"]}
    named = {job for rule in alerting_rules() for job in re.findall(r'job="([^"]+)"', rule["expr"])}
    assert named and named <= jobs, f"alerts name jobs {named - jobs} that prometheus.yml does not scrape"
