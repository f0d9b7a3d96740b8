"""Configuration errors name the file, the key path and the reason; interpolation fills ${ENV}."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import ConfigError, load_config
from tests.agent.conftest import registry, write_config

GOOD = """
checks:
  db:
    type: fixed
    target: ${DB_URL:-postgresql://localhost/x}
    interval: 5
    timeout: 1
    critical: true
    groups: [core]
"""


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    return load_config(write_config(tmp_path, text), env=env or {}, registry=registry())


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env)
    return info.value.problems


def test_defaults_and_env_default(tmp_path: Path) -> None:
    loaded = load(tmp_path, GOOD)
    db = loaded.checks["db"].config
    assert db.target == "postgresql://localhost/x"
    assert (db.failure_threshold, db.success_threshold) == (3, 1)
    assert db.critical and db.groups == ["core"]


def test_env_value_wins_over_default(tmp_path: Path) -> None:
    loaded = load(tmp_path, GOOD, env={"DB_URL": "postgresql://db.internal/rides"})
    assert loaded.checks["db"].config.target == "postgresql://db.internal/rides"


def test_interval_and_timeout_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path, "checks:\n  a: {type: fixed}\n")
    assert (loaded.checks["a"].config.interval, loaded.checks["a"].config.timeout) == (10.0, 2.0)


def test_interpolated_number_is_validated_as_number(tmp_path: Path) -> None:
    loaded = load(tmp_path, "checks:\n  a: {type: fixed, interval: '${IV:-7}', timeout: 1}\n", env={"IV": "4"})
    assert loaded.checks["a"].config.interval == 4.0


def test_unknown_key_named_with_path(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD + "    intervall: 5\n")
    assert found == [f"{tmp_path / 'agent.yaml'}: checks.db.intervall: unknown key"]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD + "chekcs: {}\n")
    assert any(p.endswith(": chekcs: unknown key") for p in found), found


def test_timeout_not_below_interval(tmp_path: Path) -> None:
    found = problems(tmp_path, "checks:\n  a: {type: fixed, interval: 2, timeout: 2}\n")
    assert len(found) == 1
    assert "agent.yaml: checks.a.timeout: must be less than the interval (2 s)" in found[0]


def test_missing_env_var_names_key_and_variable(tmp_path: Path) -> None:
    found = problems(tmp_path, "checks:\n  a: {type: fixed, target: '${NOPE_NOT_SET}'}\n")
    assert len(found) == 1
    assert "agent.yaml: checks.a.target: environment variable NOPE_NOT_SET is not set" in found[0]


def test_wrong_type_named(tmp_path: Path) -> None:
    found = problems(tmp_path, "checks:\n  a: {type: fixed, interval: often, groups: core}\n")
    assert any("checks.a.interval: Input should be a valid number" in p for p in found), found
    assert any("checks.a.groups: Input should be a valid list" in p for p in found), found


def test_unknown_check_type_lists_known(tmp_path: Path) -> None:
    found = problems(tmp_path, "checks:\n  a: {type: carrier_pigeon}\n")
    assert "checks.a.type: unknown check type 'carrier_pigeon'" in found[0]
    assert "fixed" in found[0]


def test_options_validated_by_the_type(tmp_path: Path) -> None:
    found = problems(tmp_path, "checks:\n  a: {type: fixed, options: {status: maybe, colour: red}}\n")
    assert any("checks.a.options.status:" in p for p in found), found
    assert any(p.endswith("checks.a.options.colour: unknown key") for p in found), found


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "checks:\n  a: {type: fixed\n  b: [\n")
    assert found[0].startswith(f"{tmp_path / 'agent.yaml'}:") and "invalid YAML" in found[0]


def test_escaped_dollar_stays_literal(tmp_path: Path) -> None:
    loaded = load(tmp_path, "checks:\n  a: {type: fixed, description: 'costs $${PRICE}'}\n")
    assert loaded.checks["a"].config.description == "costs ${PRICE}"


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    bad = write_config(tmp_path, "checks:\n  a: {type: nope_type, interval: 1, timeout: 3}\n", "bad.yaml")
    run = subprocess.run([sys.executable, "-m", "agent.cli", "validate", "--config", str(bad)],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert f"{bad}: checks.a.timeout: must be less than the interval" in run.stderr
    missing = subprocess.run([sys.executable, "-m", "agent.cli", "validate", "--config", str(tmp_path / "none.yaml")],
                             check=False, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "none.yaml: cannot read the file" in missing.stderr


def test_bad_environment_default_names_the_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AGENT_PORT", "ninety")
    found = problems(tmp_path, GOOD)
    expected = f"{tmp_path / 'agent.yaml'}: server.port: Input should be a valid integer, unable to parse string as an integer"
    assert found == [expected]
