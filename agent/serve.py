"""``island-agent run``: logging, the scheduler, the optional log shipper and the HTTP server in one loop."""
from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

import prometheus_client
import structlog
import uvicorn

from agent.config import LoadedConfig
from agent.core import HealthAgent
from agent.server import build_app
from agent.shipping import ShipperHandle, start_shipper

SERVICE_NAME = "island-agent"
log = structlog.get_logger("agent")


def configure_agent_logging() -> None:
    """ECS JSON lines through exporters.logs when it is installed; structlog's defaults otherwise."""
    try:
        from exporters.logs import configure_logging
    except ImportError:
        return
    try:
        service_version = version("island-rides")
    except PackageNotFoundError:
        service_version = "0.0.0"
    configure_logging(SERVICE_NAME, service_version, os.environ.get("LOG_DIR"), os.environ.get("LOG_LEVEL", "info"))


@contextlib.asynccontextmanager
async def running_agent(loaded: LoadedConfig) -> AsyncIterator[HealthAgent]:
    """The agent with its checks (and the shipper's health, when configured) scheduled; stopped on exit."""
    shipper: ShipperHandle | None = await start_shipper(loaded)
    agent = HealthAgent(loaded, extra_specs=shipper.specs if shipper else None)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()
        if shipper is not None:
            await shipper.stop()
        log.info("agent stopped", **{"event.action": "agent-stopped"})


def uvicorn_server(agent: HealthAgent, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for the agent's app that leaves logging to us and logs no access lines."""
    config = uvicorn.Config(build_app(agent), host=host, port=port, lifespan="off", access_log=False,
                            log_config=None, log_level="warning", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


async def serve(loaded: LoadedConfig, host: str | None = None, port: int | None = None) -> None:
    """Run until SIGINT/SIGTERM."""
    configure_agent_logging()
    # The *_created series double every counter's cardinality for no dashboard's use; this process is ours.
    prometheus_client.disable_created_metrics()
    server_cfg = loaded.agent.server
    host, port = host or server_cfg.host, port or server_cfg.port
    async with running_agent(loaded) as agent:
        server = uvicorn_server(agent, host, port)

        def stop_serving(signum: int, frame: object) -> None:
            server.should_exit = True

        # uvicorn handles SIGINT/SIGTERM while serving, then re-raises the signal to the previous handler:
        # with Python's default that would kill the process before the scheduler and the shipper (its
        # checkpoints) are stopped. This handler turns the re-raised signal into a no-op.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop_serving)
        log.info(f"agent listening on http://{host}:{port}", **{"event.action": "agent-listening",
                                                                 "labels.config": str(loaded.path)})
        await server.serve()
