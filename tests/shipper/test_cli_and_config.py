"""The ways in: ``island-agent ship --until-caught-up``, ``python -m agent.shipper``, and config errors that
name the file and the key."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.shipper import ShipperConfigError, load_shipper_config
from agent.shipper.documents import FileEncoder
from exporters.elasticsearch.destination import detect_mode
from tests.shipper.support import client, count, ecs_line, shipper_config, write_lines

ROOT = Path(__file__).parents[2]


def test_island_agent_ship_until_caught_up(tmp_path: Path, osmem) -> None:
    write_lines(tmp_path / "app.log", [ecs_line(i) for i in range(500)])
    shipper = json.loads(shipper_config(tmp_path, osmem.url, [str(tmp_path / "*.log")]).model_dump_json())
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({"checks": {"search": {"type": "http", "target": osmem.url}},
                                      "shipper": shipper}))
    done = subprocess.run([str(Path(sys.executable).parent / "island-agent"), "ship", "--config", str(config),
                           "--until-caught-up"], check=False, capture_output=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert summary["caught_up"] is True and summary["acknowledged"] == 500
    assert count(client(osmem.url)) == 500


def test_config_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "agent.yaml"
    bad.write_text(yaml.safe_dump({"shipper": {"elasticsearch": {"hostz": ["http://x"]},
                                               "batch": {"max_events": 0}}}))
    with pytest.raises(ShipperConfigError) as raised:
        load_shipper_config(bad)
    message = str(raised.value)
    assert f"{bad}: shipper.elasticsearch.hostz: unknown key" in message
    assert f"{bad}: shipper.batch.max_events: " in message

    done = subprocess.run([sys.executable, "-m", "agent.shipper", "--config", str(bad), "--until-caught-up"],
                          check=False, capture_output=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and b"shipper.elasticsearch.hostz: unknown key" in done.stderr
    assert b"Traceback" not in done.stderr


def test_auth_settings_must_be_complete(tmp_path: Path) -> None:
    bad = tmp_path / "shipper.yaml"
    bad.write_text(yaml.safe_dump({"elasticsearch": {"username": "elastic"}}))
    with pytest.raises(ShipperConfigError, match="username and password go together"):
        load_shipper_config(bad)


def test_osmem_is_detected_as_a_daily_index_server(osmem) -> None:
    assert detect_mode(client(osmem.url)) == "daily_index"


def test_data_stream_names_follow_the_naming_scheme() -> None:
    encoder = FileEncoder(identity="abcd", path="/l/a.log", host_name="h", service_name="island-agent",
                          mode="data_stream", namespace="prod", max_line_bytes=1000)
    item = encoder.encode(ecs_line(1), 0)
    assert item is not None and item.startswith(b'{"create":{"_index":"logs-islandrides.island_api-prod"')
