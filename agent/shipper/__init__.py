"""The log shipper: tails ECS JSON log files and ships every line to Elasticsearch exactly once.

``ShipperConfig`` (``agent.shipper.config``) is the ``shipper:`` section of the agent's YAML;
``Shipper(config)`` runs inside the agent (``start``/``stop``/``health``); ``ship_until_caught_up(config)``
backs ``island-agent ship --config F --until-caught-up``.
"""
from agent.shipper.config import ShipperConfig
from agent.shipper.pipeline import Shipper
from agent.shipper.run import ShipperConfigError, load_shipper_config, ship_until_caught_up

__all__ = ["Shipper", "ShipperConfig", "ShipperConfigError", "load_shipper_config", "ship_until_caught_up"]
