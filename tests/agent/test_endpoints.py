"""The agent's HTTP endpoints over a real socket: health+json, groups, details, readyz, livez, metrics."""
from __future__ import annotations

import asyncio
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.agent.conftest import TOKEN, RunningAgent, serve_agent
from tests.support.services import free_port

CONFIG = f"""
server: {{health_token: {TOKEN}}}
checks:
  db:
    type: fixed
    target: db
    interval: 0.3
    timeout: 0.2
    critical: true
    groups: [readiness, datastores]
    options: {{status: pass, observed_value: 1.5, observed_unit: ms, tls_not_after: 1900000000}}
  mail:
    type: fixed
    target: mail
    interval: 0.3
    timeout: 0.2
    groups: [outbound]
    options: {{status: fail, output: "connect refused to smtp://u:***@mail"}}
"""
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _assert_promtool_clean(text: str) -> None:
    """``promtool check metrics`` prints nothing for ``text``."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run `make test` (installs Debian's prometheus package)"
    lint = await asyncio.create_subprocess_exec(promtool, "check", "metrics", stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(lint.communicate(text.encode()), 30)
    assert lint.returncode == 0 and not out.strip() and not err.strip(), (out + err).decode()


async def _first_results(running: RunningAgent) -> None:
    async def ran() -> bool:
        return all(state.last is not None for state in running.agent.states.values())
    await running.wait_for(ran, what="every check's first result")


async def test_health_body_and_detail_hiding(agent_config) -> None:
    async with serve_agent(agent_config(CONFIG)) as running:
        await _first_results(running)
        anonymous = await running.client.get("/health")
        assert anonymous.status_code == 200  # only a non-critical check fails: warn
        assert anonymous.headers["content-type"].startswith("application/health+json")
        body = anonymous.json()
        assert body["status"] == "warn"
        assert set(body["checks"]) == {"db:responseTime", "mail:responseTime"}
        mail = body["checks"]["mail:responseTime"][0]
        assert mail["status"] == "fail" and mail["componentType"] == "component" and mail["time"].endswith("Z")
        for entries in body["checks"].values():
            assert not {"output", "observedValue", "observedUnit"} & set(entries[0])

        wrong = await running.client.get("/health", headers={"Authorization": "Bearer not-the-token"})
        assert "output" not in wrong.json()["checks"]["mail:responseTime"][0]

        detailed = (await running.client.get("/health", headers=AUTH)).json()
        assert detailed["checks"]["mail:responseTime"][0]["output"] == "connect refused to smtp://u:***@mail"
        db = detailed["checks"]["db:responseTime"][0]
        assert (db["observedValue"], db["observedUnit"]) == (1.5, "ms") and "output" not in db


async def test_groups(agent_config) -> None:
    async with serve_agent(agent_config(CONFIG)) as running:
        await _first_results(running)
        datastores = await running.client.get("/health/datastores")
        assert datastores.status_code == 200
        assert datastores.json()["status"] == "pass" and list(datastores.json()["checks"]) == ["db:responseTime"]
        outbound = await running.client.get("/health/outbound")
        assert outbound.json()["status"] == "warn"
        unknown = await running.client.get("/health/nosuchgroup")
        assert unknown.status_code == 404
        assert "unknown health group 'nosuchgroup'" in unknown.json()["detail"]
        assert unknown.json()["groups"] == ["datastores", "outbound", "readiness"]


async def test_readyz_livez(agent_config) -> None:
    config = CONFIG.replace("groups: [outbound]", "groups: [outbound]\n    critical: true")
    async with serve_agent(agent_config(config)) as running:
        await _first_results(running)
        assert (await running.client.get("/livez")).status_code == 200
        ready = await running.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.text.splitlines() == ["[+]db ok", "[-]mail failed: reason withheld", "readyz check failed"]
        detailed = await running.client.get("/readyz?verbose", headers=AUTH)
        assert "[-]mail failed: connect refused to smtp://u:***@mail" in detailed.text
        excluded = await running.client.get("/readyz", params=[("verbose", ""), ("exclude", "mail"), ("exclude", "zzz")])
        assert excluded.status_code == 200
        assert excluded.text.splitlines() == [
            "[+]db ok", "[+]mail excluded: ok",
            'warn: some health checks cannot be excluded: no matches for "zzz"', "readyz check passed"]
        health = await running.client.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "fail"


async def test_stalled_scheduler_turns_stale_and_livez_fails(agent_config) -> None:
    config = CONFIG.replace("server: {", "heartbeat_interval: 0.2\nserver: {")
    async with serve_agent(agent_config(config)) as running:
        await _first_results(running)
        assert (await running.client.get("/health/datastores")).status_code == 200
        running.agent.scheduler.pause()  # what a wedged scheduler looks like from outside

        async def stale() -> bool:
            response = await running.client.get("/health/datastores", headers=AUTH)
            entry = response.json()["checks"]["db:responseTime"][0]
            return response.status_code == 503 and entry.get("output") == "stale"
        await running.wait_for(stale, timeout=5, what="db reported stale")

        async def dead() -> bool:
            return (await running.client.get("/livez")).status_code == 503
        await running.wait_for(dead, timeout=5, what="/livez 503")
        metrics = (await running.client.get("/metrics")).text
        assert 'probe_success{check="db",type="fixed"} 0.0' in metrics


async def test_metrics_names_and_promtool(agent_config, tmp_path) -> None:
    async with serve_agent(agent_config(CONFIG)) as running:
        await _first_results(running)
        response = await running.client.get("/metrics")
    text = response.text
    assert response.headers["content-type"].startswith("text/plain")
    for line in [
        'probe_success{check="db",type="fixed"} 1.0',
        'probe_success{check="mail",type="fixed"} 0.0',
        'agent_check_state{check="mail",state="fail",type="fixed"} 1.0',
        'agent_check_transitions_total{check="db",to="pass"} 1.0',
    ]:
        assert line in text, line
    assert 'probe_duration_seconds{check="db",type="fixed"}' in text
    assert 'probe_ssl_earliest_cert_expiry{check="db"} 1.9e+09' in text
    assert 'probe_ssl_earliest_cert_expiry{check="mail"}' not in text  # no TLS involved: no series
    assert 'agent_check_duration_seconds_bucket{check="db",le="0.001",type="fixed"}' in text
    await _assert_promtool_clean(text)


async def test_status_json_hides_outputs_when_configured(agent_config) -> None:
    config = CONFIG.replace("server: {", "status_page: {show_output: false}\nserver: {")
    async with serve_agent(agent_config(config)) as running:
        await _first_results(running)
        anonymous = {c["name"]: c for c in (await running.client.get("/status.json")).json()["checks"]}
        assert anonymous["mail"]["status"] == "fail" and anonymous["mail"]["output"] == ""
        assert len(anonymous["mail"]["history"]) >= 1
        authorized = {c["name"]: c for c in (await running.client.get("/status.json", headers=AUTH)).json()["checks"]}
        assert authorized["mail"]["output"] == "connect refused to smtp://u:***@mail"


async def test_polling_never_runs_a_check(agent_config) -> None:
    from tests.agent import fake_checks

    config = """
    checks:
      slowpoke: {type: fixed, target: never-on-poll, interval: 30, timeout: 1, critical: true, groups: [g]}
    """
    async with serve_agent(agent_config(config)) as running:
        await _first_results(running)
        runs = fake_checks.RUNS["never-on-poll"]
        for _ in range(25):
            for path in ("/health", "/health/g", "/readyz?verbose", "/livez", "/metrics", "/status.json"):
                assert (await running.client.get(path)).status_code == 200
        assert fake_checks.RUNS["never-on-poll"] == runs == 1


async def test_http_phase_durations_on_metrics(agent_config) -> None:
    """An HTTP check's phases reach /metrics as probe_http_duration_seconds{check, phase}, as blackbox_exporter
    names them: all five for a run that got an answer, the ones measured so far for a refused connection."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = f"""
    checks:
      web:
        type: http
        target: http://127.0.0.1:{server.server_address[1]}/ok
        interval: 5
        timeout: 4
      refused:
        type: http
        target: http://127.0.0.1:{free_port()}/
        interval: 0.5
        timeout: 0.4
      db:
        type: fixed
        target: db
        interval: 0.3
    """
    try:
        async with serve_agent(agent_config(config)) as running:
            await _first_results(running)
            text = (await running.client.get("/metrics")).text
    finally:
        server.shutdown()
        server.server_close()
    samples = {(m.group(1), m.group(2)): float(m.group(3)) for m in re.finditer(
        r'^probe_http_duration_seconds\{check="(\w+)",phase="(\w+)"\} (\S+)$', text, re.MULTILINE)}
    assert {phase for check, phase in samples if check == "web"} == {
        "resolve", "connect", "tls", "processing", "transfer"}
    assert samples[("web", "connect")] > 0 and samples[("web", "processing")] > 0
    assert samples[("web", "tls")] == 0  # plain http
    assert ("refused", "connect") in samples  # a failed run keeps what it measured (an IP: no resolve)
    assert not any(check == "db" for check, _ in samples)  # a check without phases has no series
    assert "# TYPE probe_http_duration_seconds gauge" in text
    await _assert_promtool_clean(text)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass
