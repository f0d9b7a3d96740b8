"""The seam between the agent and its log shipper (``agent/shipper/``, its own package).

The agent starts the shipper when the config has a ``shipper:`` section and shows its ``health()`` as a
non-critical ``shipper`` check, polled on the same scheduler as every other check. The shipper package
is imported lazily so the agent runs without it.
"""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import structlog

from agent.config import CheckConfig, CheckSpec, LoadedConfig
from checks.base import CheckResult, CheckType, Deadline, Options

log = structlog.get_logger("agent")
SHIPPER_CHECK = "shipper"


class _NoOptions(Options):
    pass


@dataclass
class ShipperHandle:
    shipper: Any
    task: asyncio.Task[Any] | None
    specs: dict[str, CheckSpec]

    async def stop(self) -> None:
        stop = getattr(self.shipper, "stop", None)
        if stop is not None:
            result = stop()
            if asyncio.iscoroutine(result):
                await result
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


def shipper_spec(shipper: Any, interval_s: float = 5.0) -> CheckSpec:
    """A non-critical check reading ``shipper.health()`` (sync or async) on the agent's schedule."""

    async def run(target: str, options: _NoOptions, deadline: Deadline) -> CheckResult:
        result = shipper.health()
        if asyncio.iscoroutine(result):
            result = await deadline.run("health", result)
        return result

    check_type = CheckType(name=SHIPPER_CHECK, options_model=_NoOptions, run=run, component_type="component")
    config = CheckConfig(type=SHIPPER_CHECK, interval=interval_s, timeout=min(2.0, interval_s / 2),
                         critical=False, groups=["shipper"], description="log shipping to Elasticsearch")
    return CheckSpec(name=SHIPPER_CHECK, config=config, check_type=check_type, options=_NoOptions())


async def start_shipper(loaded: LoadedConfig) -> ShipperHandle | None:
    """Start the shipper of ``loaded.shipper`` in the background, or None when not configured/installed."""
    if loaded.shipper is None:
        return None
    try:
        from agent.shipper import Shipper
    except ImportError as exc:
        log.warning("shipper: section configured but the shipper is not installed",
                    **{"event.action": "shipper-missing", "error.message": str(exc)})
        return None
    shipper = Shipper(loaded.shipper)
    task = asyncio.create_task(shipper.run(), name="shipper")
    return ShipperHandle(shipper=shipper, task=task, specs={SHIPPER_CHECK: shipper_spec(shipper)})


async def ship_once(loaded: LoadedConfig, until_caught_up: bool) -> int:
    """``island-agent ship``: run the shipper in the foreground; return the exit code."""
    if loaded.shipper is None:
        print(f"{loaded.path}: shipper: section missing, nothing to ship")
        return 3
    from agent.shipper import Shipper

    shipper = Shipper(loaded.shipper)
    if until_caught_up:
        await shipper.run(until_caught_up=True)
    else:
        await shipper.run()
    return 0
