"""The API's GET /health relays the real agent's verdict, cached at most 1 s, and survives its absence."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx
from fastapi import FastAPI

from api.routes import health as health_route
from tests.agent.conftest import TOKEN, serve_agent
from tests.support.services import free_port

CONFIG = f"""
server: {{health_token: {TOKEN}}}
checks:
  postgres: {{type: fixed, target: relay-pg, interval: 0.2, timeout: 0.1, critical: true,
             options: {{status: fail, output: "connection refused"}}}}
  redis: {{type: fixed, target: relay-redis, interval: 0.2, timeout: 0.1}}
"""


def api_with_relay(agent_url: str) -> FastAPI:
    app = FastAPI()
    app.state.settings = SimpleNamespace(agent_url=agent_url)
    app.include_router(health_route.router)
    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_same_status_and_body_and_details_with_token(agent_config) -> None:
    async with serve_agent(agent_config(CONFIG)) as running:
        async def failing() -> bool:
            return (await running.client.get("/health")).status_code == 503
        await running.wait_for(failing, what="agent 503")
        app = api_with_relay(running.url)
        async with client_for(app) as api:
            relayed = await api.get("/health")
            direct = await running.client.get("/health")
            assert relayed.status_code == 503
            assert relayed.headers["content-type"].startswith("application/health+json")
            assert relayed.json()["status"] == "fail"
            assert relayed.json()["checks"].keys() == direct.json()["checks"].keys()
            assert "output" not in relayed.json()["checks"]["postgres:responseTime"][0]
            detailed = await api.get("/health", headers={"Authorization": f"Bearer {TOKEN}"})
            assert detailed.json()["checks"]["postgres:responseTime"][0]["output"] == "connection refused"


async def test_cached_at_most_one_second(agent_config) -> None:
    async with serve_agent(agent_config(CONFIG)) as running:
        relay = health_route.AgentHealthRelay(running.url)
        app = api_with_relay(running.url)
        app.state.agent_health_relay = relay
        async with client_for(app) as api:
            answers = await asyncio.gather(*(api.get("/health") for _ in range(20)))
            assert {a.status_code for a in answers} <= {200, 503}
            assert relay.fetches == 1  # twenty concurrent callers, one question to the agent
            first_time = answers[0].json()["checks"]["redis:responseTime"][0]["time"]
            await asyncio.sleep(1.1)
            later = await api.get("/health")
            assert relay.fetches == 2
            assert later.json()["checks"]["redis:responseTime"][0]["time"] != first_time


async def test_agent_unreachable_is_warn_with_reachability_check() -> None:
    app = api_with_relay(f"http://127.0.0.1:{free_port()}")
    async with client_for(app) as api:
        response = await api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "warn"
    assert body["checks"]["agent:reachability"][0]["status"] == "fail"


async def test_mounted_in_the_real_api_app(agent_config, tmp_path) -> None:
    from api.app import create_app
    from api.settings import load_settings

    async with serve_agent(agent_config(CONFIG)) as running:
        app = create_app(load_settings(agent_url=running.url, log_dir=tmp_path))
        async with client_for(app) as api:  # no lifespan: /health needs neither the pool nor Redis

            async def relayed_fail() -> bool:
                response = await api.get("/health")
                return response.status_code == 503 and "postgres:responseTime" in response.json()["checks"]
            await running.wait_for(relayed_fail, what="the API relaying the agent's 503")
