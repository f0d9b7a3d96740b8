"""End to end: real Prometheus with the project's rules scraping a real API and a real agent, a real
Alertmanager with a webhook receiver. Every dashboard panel query must be valid PromQL and return data
wherever the series it selects exist; a failing probe's alert goes pending, then firing, then reaches
the webhook.
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.migrate import apply_migrations
from api.settings import load_settings
from dashboards.queries import all_queries, substitute
from tests.api.support import live_api_process, settings_env
from tests.dashboards import traffic
from tests.dashboards.stack import (
    RECORDING_RULES,
    AlertWatcher,
    WebhookReceiver,
    alertmanager_test_config,
    fast_alert_rules,
    prometheus_config,
    tls_server,
    webhook_receiver,
)
from tests.support.services import (
    VENV_BIN,
    ManagedProcess,
    alertmanager,
    free_port,
    localstripe,
    osmem_server,
    prometheus,
    redis_server,
    redis_url,
    smtp_catcher,
    temp_database,
)
from tests.support.tls import make_pki

pytestmark = pytest.mark.timeout(150)

DEAD_CHECK = "dead-port"
# Panels whose data the traffic above is sure to produce: they guard against a test that passes because
# nothing was scraped.
MUST_HAVE_DATA = {"Request rate", "Error ratio (5xx) by route", "Latency by route (p50 / p95 / p99)",
                  "Cache hit ratio", "Rate-limit rejections", "Availability SLO: 5xx ratio by window",
                  "DB query p95 by operation", "Booking transitions (per hour)", "probe_success by check",
                  "Reported state by check", "TLS certificate days left", "Failing critical checks",
                  "HTTP check phases",
                  "Events by outcome", "Lag by file", "Last acknowledgement age", "Read throughput",
                  "annotation: Firing alerts"}


@dataclass
class Stack:
    prometheus: str
    alertmanager: str
    api_target: str
    agent_target: str
    webhook: WebhookReceiver
    watcher: AlertWatcher
    traffic_done: float  # Unix time


def agent_config(path: Path, port: int, api_url: str, dsn: str, redis: str, tls_port: int, ca_file: Path,
                 log_dir: Path, state_dir: Path, elasticsearch: str) -> Path:
    """Checks of everything the API depends on, a TLS endpoint, a port nobody listens on, and the shipper."""
    path.write_text(textwrap.dedent(f"""\
        server: {{host: 127.0.0.1, port: {port}}}
        heartbeat_interval: 0.5
        checks:
          postgres: {{type: postgres, target: "{dsn}", critical: true, interval: 1, timeout: 0.8}}
          api: {{type: http, target: "{api_url}/livez", critical: true, interval: 1, timeout: 0.8}}
          redis: {{type: redis, target: "{redis}", interval: 1, timeout: 0.8}}
          chat:
            type: websocket
            target: "{api_url.replace('http://', 'ws://')}/v1/ws/ping"
            interval: 1
            timeout: 0.8
            options: {{send: agent-ping, expect: agent-ping}}
          tls:
            type: tls
            target: "127.0.0.1:{tls_port}"
            interval: 1
            timeout: 0.8
            options: {{ca_file: "{ca_file}", server_name: localhost}}
          {DEAD_CHECK}:
            type: tcp
            target: "127.0.0.1:{free_port()}"
            interval: 1
            timeout: 0.5
            failure_threshold: 1
        shipper:
          inputs: [{{paths: ["{log_dir}/*.log"]}}]
          state_dir: "{state_dir}"
          elasticsearch: {{hosts: ["{elasticsearch}"]}}
        """))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    log_dir, state_dir = tmp / "log", tmp / "state"
    log_dir.mkdir()
    pki = make_pki(tmp)
    with contextlib.ExitStack() as stack:
        dsn = stack.enter_context(temp_database(prefix="island_dash_e2e"))
        apply_migrations(dsn)
        redis = redis_url(stack.enter_context(redis_server()))
        stripe = stack.enter_context(localstripe())
        smtp = stack.enter_context(smtp_catcher())
        es = stack.enter_context(osmem_server())
        tls_port = stack.enter_context(tls_server(pki.server_context()))
        settings = load_settings(
            environment="test", database_url=dsn, redis_url=redis, stripe_api_base=stripe.url, smtp_url=smtp.url,
            log_dir=log_dir, argon2_time_cost=1, argon2_memory_kib=1024, rate_limit_anonymous=traffic.ANONYMOUS_LIMIT,
            rate_limit_window_s=600, jwt_secret="dashboards-e2e-secret-0123456789abcdef0123")
        api = stack.enter_context(live_api_process(settings_env(settings)))
        agent_port = free_port()
        config = agent_config(tmp / "agent.yaml", agent_port, api.url, dsn, redis, tls_port, pki.ca_file,
                              log_dir, state_dir, es.url)
        agent = ManagedProcess([str(VENV_BIN / "python"), "-m", "agent.cli", "run", "--config", str(config)],
                               port=agent_port, log_path=tmp / "agent.out")
        agent.start()
        stack.callback(agent.stop)
        webhook = stack.enter_context(webhook_receiver())
        am = stack.enter_context(alertmanager(alertmanager_test_config(tmp / "alertmanager.yml", webhook.url)))
        rules = [RECORDING_RULES, fast_alert_rules(tmp / "alerts-fast.yml")]
        api_target, agent_target = f"127.0.0.1:{api.port}", f"127.0.0.1:{agent_port}"
        prom_config = prometheus_config(tmp / "prometheus.yml", api_target, agent_target, f"127.0.0.1:{am.port}", rules)
        prom = stack.enter_context(prometheus(prom_config))
        watcher = stack.enter_context(AlertWatcher(prom.url))
        asyncio.run(traffic.generate(api.url, dsn))
        yield Stack(prom.url, am.url, api_target, agent_target, webhook, watcher, time.time())


def instant(client: httpx.Client, expr: str) -> list[dict]:
    resp = client.get("/api/v1/query", params={"query": expr})
    assert resp.status_code == 200, f"{expr}\n-> {resp.status_code} {resp.text}"
    return resp.json()["data"]["result"]


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def selectors_with_series(client: httpx.Client, expr: str) -> dict[str, bool]:
    """Each vector selector of ``expr`` -> whether Prometheus holds any series for it."""
    found = {}
    for selector in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*\{[^}]*\}", expr):
        resp = client.get("/api/v1/series", params={"match[]": selector, "start": time.time() - 300})
        found[selector] = bool(resp.json()["data"])
    return found


def scraped_since(client: httpx.Client, since: float, scrapes: int = 3) -> bool:
    """Both targets up, each scraped at least ``scrapes`` times and last after ``since`` + ``scrapes`` s."""
    ups = instant(client, "up == 1")
    counts = instant(client, "count_over_time(up[1m])")
    stamps = instant(client, "timestamp(up)")
    return (len(ups) == 2 and len(counts) == 2 and min(float(r["value"][1]) for r in counts) > scrapes
            and min(float(r["value"][1]) for r in stamps) > since + scrapes)


def test_every_panel_query_is_valid_and_returns_data_where_its_series_exist(stack: Stack) -> None:
    with httpx.Client(base_url=stack.prometheus, timeout=10) as client:
        # rate() needs two samples in its window; rules need an evaluation after them.
        wait_until(lambda: scraped_since(client, stack.traffic_done), 40, "three scrapes of both targets after traffic")
        # The alerts annotation has something to mark once the dead port's alert fires.
        wait_until(lambda: instant(client, 'ALERTS{alertstate="firing"}'), 40, "a firing alert")
        targets = {"island-rides-api": ("island-api", stack.api_target)}
        with_data, without_data = set(), []
        for query in all_queries():
            job, instance = targets.get(query.dashboard, ("island-agent", stack.agent_target))
            expr = substitute(query.expr, {"job": job, "instance": instance})
            if instant(client, expr):
                with_data.add(query.panel)
                continue
            found = selectors_with_series(client, expr)
            assert not all(found.values()), f"{query.dashboard} / {query.panel}: no data though its series exist:\n{expr}"
            without_data.append((query.panel, [s for s, ok in found.items() if not ok]))
    missing = MUST_HAVE_DATA - with_data
    assert not missing, f"panels without data: {missing}; all without data: {without_data}"


def test_a_failing_probe_alert_goes_pending_then_firing_and_reaches_the_webhook(stack: Stack) -> None:
    wait_until(lambda: any(alert["status"] == "firing" and alert["labels"].get("check") == DEAD_CHECK
                           for _, alert in stack.webhook.alerts("DependencyProbeFailing")),
               45, "DependencyProbeFailing for the dead port at the webhook")
    states = stack.watcher.states("DependencyProbeFailing", check=DEAD_CHECK)
    assert states[:2] == ["pending", "firing"], states
    path, alert = next((p, a) for p, a in stack.webhook.alerts("DependencyProbeFailing")
                       if a["labels"].get("check") == DEAD_CHECK)
    assert path == "/team-webhook"  # non-critical check -> warning -> the team's receiver, not the pager
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["runbook_url"] == "dashboards/RUNBOOK.md#dependencyprobefailing"
    # The healthy critical checks raised nothing.
    assert not [a for _, a in stack.webhook.alerts("DependencyProbeFailing") if a["labels"]["check"] != DEAD_CHECK]


def test_alertmanager_inhibits_the_warning_twin_of_a_firing_critical_alert(stack: Stack) -> None:
    """TLS < 3 days (critical) silences TLS < 14 days (warning) for the same check; another check's warning
    still goes out."""
    def alert(severity: str, check: str) -> dict:
        return {"labels": {"alertname": "TLSCertificateExpiring", "job": "island-agent", "instance": "agent:9300",
                           "check": check, "severity": severity},
                "annotations": {"summary": f"inhibition test {severity} {check}"}}

    alerts = [alert("critical", "inhibit-a"), alert("warning", "inhibit-a"), alert("warning", "inhibit-b")]
    with httpx.Client(base_url=stack.alertmanager, timeout=5) as client:
        assert client.post("/api/v2/alerts", json=alerts).status_code == 200

        def delivered() -> set[tuple[str, str, str]]:
            return {(path, a["labels"]["severity"], a["labels"]["check"])
                    for path, a in stack.webhook.alerts("TLSCertificateExpiring")}

        wait_until(lambda: {("/oncall-webhook", "critical", "inhibit-a"), ("/team-webhook", "warning", "inhibit-b")}
                   <= delivered(), 20, "the critical alert and the other check's warning at the webhooks")
        states = {(a["labels"]["severity"], a["labels"]["check"]): a["status"]
                  for a in client.get("/api/v2/alerts", params={"filter": "alertname=TLSCertificateExpiring"}).json()}
    assert states[("warning", "inhibit-a")]["state"] == "suppressed"
    assert states[("warning", "inhibit-a")]["inhibitedBy"]
    assert states[("warning", "inhibit-b")]["state"] == "active"
    assert ("/team-webhook", "warning", "inhibit-a") not in delivered()
