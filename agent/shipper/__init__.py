"""The log shipper: tails ECS JSON log files and ships every line to Elasticsearch exactly once.

``ShipperConfig`` (``agent.shipper.config``) is the ``shipper:`` section of the agent's YAML;
``Shipper(config)`` runs inside the agent (``start``/``stop``/``health``); ``ship_until_caught_up(config)``
backs ``island-agent ship --config F --until-caught-up``.

Everything but the config is imported on first use (PEP 562): validating an agent config must not load
the Elasticsearch client, and ``python -m agent.shipper`` imports this package before its ``__main__``,
which trims what the client loads (see there).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agent.shipper.config import ShipperConfig

if TYPE_CHECKING:
    from agent.shipper.pipeline import Shipper
    from agent.shipper.run import ShipperConfigError, load_shipper_config, ship_until_caught_up

_LAZY = {"Shipper": "agent.shipper.pipeline", "ShipperConfigError": "agent.shipper.run",
         "load_shipper_config": "agent.shipper.run", "ship_until_caught_up": "agent.shipper.run"}

__all__ = ["Shipper", "ShipperConfig", "ShipperConfigError", "load_shipper_config", "ship_until_caught_up"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agent.shipper' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
