"""The agent runs the log shipper of its ``shipper:`` section and shows its health as a non-critical check."""
from __future__ import annotations

import json
from pathlib import Path

from agent.cli import main
from tests.agent.conftest import TOKEN, serve_agent, write_config
from tests.support.services import osmem_server


def _config(tmp_path: Path, es_url: str, extra: str = "") -> str:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    line = {"@timestamp": "2026-01-01T00:00:00.000Z", "log.level": "info", "message": "hello",
            "service.name": "island-api"}
    (logs / "api.log").write_text("".join(json.dumps({**line, "message": f"line {i}"}) + "\n" for i in range(3)))
    return f"""
server: {{health_token: {TOKEN}}}
checks:
  disk: {{type: disk, target: "{tmp_path}", interval: 0.5, timeout: 0.4, critical: true}}
shipper:
  inputs: [{{paths: ["{logs}/*.log"]}}]
  state_dir: "{tmp_path / 'state'}"
  elasticsearch: {{hosts: ["{es_url}"], mode: daily_index}}
  batch: {{max_wait_s: 0.1}}
{extra}"""


async def test_shipper_health_is_a_non_critical_check(tmp_path: Path, agent_config) -> None:
    with osmem_server() as es:
        async with serve_agent(agent_config(_config(tmp_path, es.url))) as running:
            assert running.agent.specs["shipper"].config.critical is False

            async def shipped() -> bool:
                body = (await running.client.get("/health", headers={"Authorization": f"Bearer {TOKEN}"})).json()
                entry = body["checks"].get("shipper:backlog", [{}])[0]
                return entry.get("status") == "pass" and entry.get("observedValue") == 0
            await running.wait_for(shipped, timeout=15, what="shipper check passing with no backlog")
            assert (await running.client.get("/health/logging")).json()["checks"].keys() == {"shipper:backlog"}


def test_ship_command_delegates_to_the_shipper(tmp_path: Path, capsys) -> None:
    with osmem_server() as es:
        config = write_config(tmp_path, _config(tmp_path, es.url))
        assert main(["ship", "--config", str(config), "--until-caught-up"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["caught_up"] is True and summary["acknowledged"] == 3


def test_shipper_section_errors_name_the_key(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, _config(tmp_path, "http://127.0.0.1:1").replace(
        "batch: {max_wait_s: 0.1}", "batch: {max_wait_s: 0.1, max_events: 0, colour: red}"))
    assert main(["validate", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{config}: shipper.batch.max_events:" in err and f"{config}: shipper.batch.colour: unknown key" in err
