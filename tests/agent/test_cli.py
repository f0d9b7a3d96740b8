"""``island-agent check`` and ``validate`` as a user runs them: real checks, a table, exit codes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agent.cli import main
from tests.agent.conftest import write_config
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]


def island_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], check=False, capture_output=True, text=True,
                          timeout=60, cwd=REPO)


def test_check_prints_table_and_exits_by_worst_result(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, f"""
    checks:
      disk-ok: {{type: disk, target: {tmp_path}, interval: 5, timeout: 2, options: {{warn_free_ratio: 0, fail_free_ratio: 0}}}}
      disk-tight: {{type: disk, target: {tmp_path}, options: {{warn_free_ratio: 1, fail_free_ratio: 0}}}}
      closed-port: {{type: tcp, target: "127.0.0.1:{free_port()}", timeout: 1}}
    """)
    # in-process (the console script's main) to spare the suite an interpreter start per case
    assert main(["check", "--config", str(config), "disk-ok"]) == 0
    assert main(["check", "--config", str(config), "disk-ok", "disk-tight"]) == 1
    capsys.readouterr()
    assert main(["check", "--config", str(config)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["CHECK", "TYPE", "STATUS", "DURATION", "OUTPUT"]
    rows = {line.split()[0]: line.split()[2] for line in lines[1:]}
    assert rows == {"disk-ok": "pass", "disk-tight": "warn", "closed-port": "fail"}
    assert main(["check", "--config", str(config), "nope"]) == 3
    assert "no check named nope" in capsys.readouterr().err


def test_default_config_is_valid() -> None:
    result = island_agent("validate", "--config", "agent/default.yaml")
    assert result.returncode == 0, result.stderr
    assert "OK, 8 checks" in result.stdout


def test_run_refuses_invalid_config(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, "checks:\n  a: {type: disk, target: /, bogus: 1}\n")
    assert main(["run", "--config", str(config)]) == 3
    assert f"{config}: checks.a.bogus: unknown key" in capsys.readouterr().err
