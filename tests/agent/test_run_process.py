"""``island-agent run`` as a process: it serves on AGENT_PORT and logs transitions as ECS JSON lines."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.agent.conftest import write_config
from tests.support.services import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]


def _transition_events(log_file: Path) -> list[dict]:
    if not log_file.exists():
        return []
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("event", {}).get("action") == "health-check-transition"]


def test_run_serves_and_logs_transitions_as_ecs(tmp_path: Path) -> None:
    port, closed = free_port(), free_port()
    config = write_config(tmp_path, f"""
    checks:
      gateway: {{type: tcp, target: "127.0.0.1:{closed}", interval: 0.5, timeout: 0.3, critical: true,
                failure_threshold: 1}}
    """)
    env = {**os.environ, "AGENT_PORT": str(port), "LOG_DIR": str(tmp_path), "AGENT_HEALTH_TOKEN": ""}
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--config", str(config)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, timeout=30, proc=proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and httpx.get(f"http://127.0.0.1:{port}/health").status_code != 503:
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 503
        assert httpx.get(f"http://127.0.0.1:{port}/livez").status_code == 200
        events = _transition_events(tmp_path / "island-agent.log")
        assert events, (tmp_path / "island-agent.log").read_text() if (tmp_path / "island-agent.log").exists() else "no log"
        event = events[0]
        assert event["log.level"] == "warning"
        assert event["labels"]["check"] == "gateway" and event["labels"]["to_state"] == "fail"
        assert event["event"]["outcome"] == "failure" and "connect" in event["error"]["message"]
        assert event["service"]["name"] == "island-agent" and "@timestamp" in event
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
    actions = [json.loads(line).get("event", {}).get("action") for line in
               (tmp_path / "island-agent.log").read_text().splitlines()]
    assert actions[-1] == "agent-stopped"
