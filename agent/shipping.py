"""The seam between the agent and its log shipper (``agent/shipper/``, its own package).

The agent starts the shipper when the config has a ``shipper:`` section and shows its ``health()`` as a
non-critical ``shipper`` check, polled on the same scheduler as every other check. The shipper package
is imported lazily so the agent runs without it.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from agent.config import CheckConfig, CheckSpec, LoadedConfig
from checks.base import CheckResult, CheckType, Deadline, Options, Status

log = structlog.get_logger("agent")
SHIPPER_CHECK = "shipper"


class _NoOptions(Options):
    pass


@dataclass
class ShipperHandle:
    shipper: Any | None  # None when it could not start; its check then reports why
    specs: dict[str, CheckSpec]

    async def stop(self) -> None:
        if self.shipper is not None:
            await self.shipper.stop()


def shipper_spec(health: Callable[[], CheckResult], interval_s: float = 5.0) -> CheckSpec:
    """A non-critical check reporting ``health()`` (the shipper's own verdict) on the agent's schedule."""

    async def run(target: str, options: _NoOptions, deadline: Deadline) -> CheckResult:
        return health()

    check_type = CheckType(name=SHIPPER_CHECK, options_model=_NoOptions, run=run, component_type="component")
    config = CheckConfig(type=SHIPPER_CHECK, interval=interval_s, timeout=min(2.0, interval_s / 2),
                         critical=False, groups=["logging"], description="log shipping to Elasticsearch")
    return CheckSpec(name=SHIPPER_CHECK, config=config, check_type=check_type, options=_NoOptions())


async def start_shipper(loaded: LoadedConfig) -> ShipperHandle | None:
    """Start the shipper of ``loaded.shipper`` in the background, or None when not configured/installed.

    A shipper that cannot start (unreadable checkpoints) does not stop the agent: its check fails with
    the reason, so /health warns and the status page says why.
    """
    if loaded.shipper is None or not getattr(loaded.shipper, "enabled", True):
        return None
    try:
        from agent.shipper import Shipper
    except ImportError as exc:
        log.warning("shipper: section configured but the shipper is not installed",
                    **{"event.action": "shipper-missing", "error.message": str(exc)})
        return None
    shipper = Shipper(loaded.shipper)
    try:
        await shipper.start()
    except Exception as exc:  # noqa: BLE001 -- any start failure becomes the shipper check's failure
        reason = f"shipper could not start: {type(exc).__name__}: {exc}"
        log.error(reason, **{"event.action": "shipper-start-failed", "error.message": str(exc)})
        failed = CheckResult(Status.FAIL, reason)
        return ShipperHandle(None, {SHIPPER_CHECK: shipper_spec(lambda: failed)})
    return ShipperHandle(shipper, {SHIPPER_CHECK: shipper_spec(shipper.health)})


async def ship_once(loaded: LoadedConfig, until_caught_up: bool) -> int:
    """``island-agent ship``: the shipper in the foreground (until caught up, or until SIGTERM)."""
    if loaded.shipper is None:
        print(f"{loaded.path}: shipper: section missing, nothing to ship", file=sys.stderr)
        return 3
    from agent.shipper.run import ship_forever, ship_until_caught_up

    return await (ship_until_caught_up(loaded.shipper) if until_caught_up else ship_forever(loaded.shipper))
