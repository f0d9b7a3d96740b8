#!/usr/bin/env python3
"""``make run``: the whole local stack in one command.

Creates the database if needed, applies migrations, loads the seed data, then starts localstripe
(STRIPE_API_BASE, default :8420), an SMTP catcher (SMTP_URL, default :8025, prints each mail), the API
(API_HOST:API_PORT, default 127.0.0.1:8000) and the agent; prints the URLs and waits. Ctrl-C stops every
process it started, in reverse order. A service already listening on its port is reused, not restarted.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

import psycopg

from api.migrate import apply_migrations
from api.seed import DEMO_PASSWORD, seed
from api.settings import ConfigError, Settings, load_settings

started: list[tuple[str, subprocess.Popen]] = []


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def wait_listening(name: str, host: str, port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"run_stack: {name} exited with status {proc.returncode} before listening on {port}")
        if listening(host, port):
            return
        time.sleep(0.1)
    raise SystemExit(f"run_stack: {name} did not listen on {host}:{port} within {timeout:.0f}s")


def start(name: str, argv: list[str], host: str, port: int, env: dict[str, str] | None = None) -> None:
    """Start ``argv`` unless something already listens on host:port."""
    if listening(host, port):
        print(f"  {name}: already listening on {host}:{port}, reusing it")
        return
    proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})})
    started.append((name, proc))
    wait_listening(name, host, port, proc)
    print(f"  {name}: started (pid {proc.pid})")


def ensure_database(settings: Settings) -> None:
    """CREATE DATABASE for DATABASE_URL if it does not exist yet (connecting to the server's 'postgres' db)."""
    url = urlparse(settings.database_url)
    name = url.path.lstrip("/")
    admin = settings.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"  database {name}: created")


def stop_all() -> None:
    for name, proc in reversed(started):
        if proc.poll() is None:
            proc.terminate()
    for name, proc in reversed(started):
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        print(f"  {name}: stopped")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"run_stack: {exc}", file=sys.stderr)
        return 2
    print("Island Rides local stack")
    ensure_database(settings)
    applied = apply_migrations(settings.database_url)
    print(f"  migrations: {len(applied)} applied")
    counts = asyncio.run(seed(settings))
    print("  seed data: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    settings.log_dir.mkdir(parents=True, exist_ok=True)

    # Ctrl-C (SIGINT, also when inherited as ignored by a background job) and SIGTERM both stop the stack.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stripe = urlparse(settings.stripe_api_base)
        start("localstripe", [str(BIN / "localstripe"), "--port", str(stripe.port or 8420)],
              stripe.hostname or "127.0.0.1", stripe.port or 8420)
        smtp = urlparse(settings.smtp_url)
        start("smtp catcher", [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Debugging",
                               "-l", f"{smtp.hostname}:{smtp.port or 8025}"], smtp.hostname or "127.0.0.1",
              smtp.port or 8025)
        # osmem-server stands in for Elasticsearch in dev: the agent's shipper sends the log files there
        # (in memory only: every start is an empty store, so the shipper's checkpoints are cleared below and
        # the log files are shipped again from their start)
        from osmem_server import resolve_binary

        es = urlparse(os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200"))
        start("elasticsearch (osmem-server)", [resolve_binary(), "-addr", f"{es.hostname}:{es.port or 9200}",
                                               "-no-stdin-watch", "-parent-pid", str(os.getpid()), "-no-ja"],
              es.hostname or "127.0.0.1", es.port or 9200)
        start("api", [str(BIN / "island-api"), "serve"], settings.api_host, settings.api_port)
        # localstripe signs payment events with STRIPE_WEBHOOK_SECRET and posts them to the API's webhook
        import httpx

        httpx.post(f"{settings.stripe_api_base}/_config/webhooks/island-api", timeout=5, data={
            "url": f"http://{settings.api_host}:{settings.api_port}/v1/webhooks/stripe",
            "secret": settings.stripe_webhook_secret}).raise_for_status()

        # --- agent: the health/log-shipping sidecar, with agent/default.yaml, pointed at what was started above
        shipper_state = settings.log_dir.parent / "shipper"
        shutil.rmtree(shipper_state, ignore_errors=True)
        agent = urlparse(settings.agent_url)
        start("agent", [str(BIN / "island-agent"), "run", "--config", str(ROOT / "agent" / "default.yaml")],
              agent.hostname or "127.0.0.1", agent.port or 9300,
              env={"AGENT_HOST": agent.hostname or "127.0.0.1", "AGENT_PORT": str(agent.port or 9300),
                   "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
                   "API_URL": f"http://{settings.api_host}:{settings.api_port}",
                   "API_WS_URL": f"ws://{settings.api_host}:{settings.api_port}",
                   "STRIPE_API_BASE": settings.stripe_api_base, "SMTP_URL": settings.smtp_url,
                   "LOG_DIR": str(settings.log_dir), "ELASTICSEARCH_URL": es.geturl(),
                   "SHIPPER_STATE_DIR": str(shipper_state)})

        api = f"http://{settings.api_host}:{settings.api_port}"
        print(f"""
Ready:
  API          {api}   (docs {api}/docs, probes {api}/livez {api}/readyz, dependencies {api}/health)
  agent        {settings.agent_url}/status   (/health /livez /readyz /metrics)
  localstripe  {settings.stripe_api_base}
  SMTP catcher {settings.smtp_url}   (mails are printed below)
  Elasticsearch {es.geturl()}   (osmem-server; the agent ships {settings.log_dir.resolve()}/*.log there)
  logs         {settings.log_dir.resolve()}
  demo logins  renter1@islandrides.bs / host1@islandrides.bs / admin@islandrides.bs, password {DEMO_PASSWORD}
Ctrl-C stops everything started here.""", flush=True)
        while True:
            for name, proc in started:
                if proc.poll() is not None:
                    print(f"run_stack: {name} exited with status {proc.returncode}; stopping the rest", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping...")
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
