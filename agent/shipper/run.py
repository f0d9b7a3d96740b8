"""Running the shipper on its own: ``ship_until_caught_up`` for backfills and benchmarks, and the loader of a
YAML file holding either an agent configuration (its ``shipper:`` section is used) or a bare shipper one.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent.interpolate import MissingVariable, interpolate
from agent.shipper.checkpoints import CheckpointError
from agent.shipper.config import ShipperConfig
from agent.shipper.pipeline import Shipper

log = logging.getLogger("agent.shipper")


class ShipperConfigError(Exception):
    """The file cannot be used; the message names the file, the key and the reason."""


def load_shipper_config(path: str | Path) -> ShipperConfig:
    """Read ``path`` (YAML; ``${ENV}`` references substituted) into a ``ShipperConfig``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ShipperConfigError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ShipperConfigError(f"{path}: invalid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ShipperConfigError(f"{path}: (top level): expected a mapping, got {type(raw).__name__}")
    prefix, section = ("shipper", raw.get("shipper") or {}) if "shipper" in raw else ("", raw)
    try:
        section = interpolate(section, os.environ, prefix)
    except MissingVariable as exc:
        raise ShipperConfigError(f"{path}: {exc.path}: {exc}") from None
    try:
        return ShipperConfig.model_validate(section)
    except ValidationError as exc:
        raise ShipperConfigError("\n".join(
            f"{path}: {_dotted(prefix, err['loc'])}: {'unknown key' if err['type'] == 'extra_forbidden' else err['msg']}"
            for err in exc.errors())) from None


def _dotted(prefix: str, loc: tuple[Any, ...]) -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int) and parts:
            parts[-1] += f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


async def ship_until_caught_up(config: ShipperConfig) -> int:
    """Ship what the files hold now, then stop; 0 when done, 1 when the shipper could not run.

    A summary (counts by outcome) goes to stdout as one JSON object. Lines refused by Elasticsearch are in
    the dead-letter file and counted there; they do not make the exit code non-zero.
    """
    shipper = Shipper(config)
    try:
        await shipper.run_until_caught_up()
    except (CheckpointError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"caught_up": True, **shipper.stats.as_dict()}), flush=True)
    return 0


async def ship_forever(config: ShipperConfig, deadline_s: float = 10.0) -> int:
    """Ship until SIGTERM/SIGINT, then stop gracefully within ``deadline_s``."""
    shipper = Shipper(config)
    try:
        await shipper.start()
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await shipper.stop(deadline_s)
    print(json.dumps({"caught_up": False, **shipper.stats.as_dict()}), flush=True)
    return 0
