"""Fixtures for the agent's tests: an agent on a free port, in the test's own event loop.

Running the agent in-process lets a test add check types of its own (``fake_checks``) next to the real
``checks.REGISTRY`` ones, pause its scheduler, and read its state directly, while every assertion still
goes through real HTTP on a real socket.
"""
from __future__ import annotations

import asyncio
import contextlib
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agent.config import LoadedConfig, default_registry, load_config
from agent.core import HealthAgent
from agent.serve import running_agent, uvicorn_server
from tests.agent.fake_checks import TEST_REGISTRY
from tests.support.services import free_port

TOKEN = "test-token-0123456789"


def registry() -> dict:
    """The real check types plus the test-only ones."""
    return {**default_registry(), **TEST_REGISTRY}


def write_config(tmp_path: Path, yaml_text: str, name: str = "agent.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(yaml_text))
    return path


@dataclass
class RunningAgent:
    agent: HealthAgent
    client: httpx.AsyncClient
    url: str

    async def wait_for(self, predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0,
                       what: str = "condition") -> None:
        """Poll ``predicate`` every 50 ms until it holds; fail the test with ``what`` after ``timeout``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            if await predicate():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextlib.asynccontextmanager
async def serve_agent(loaded: LoadedConfig) -> AsyncIterator[RunningAgent]:
    """Start ``loaded``'s agent and its HTTP server on a free port; stop both on exit."""
    port = free_port()
    async with running_agent(loaded) as agent:
        server = uvicorn_server(agent, "127.0.0.1", port)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
                yield RunningAgent(agent, client, url)
        finally:
            server.should_exit = True
            await task


@pytest.fixture
def agent_config(tmp_path: Path) -> Callable[[str], LoadedConfig]:
    """Write YAML text to a file in tmp_path and load it with the real and test check types."""

    def load(yaml_text: str, env: dict[str, str] | None = None) -> LoadedConfig:
        return load_config(write_config(tmp_path, yaml_text), env=env or {}, registry=registry())

    return load
