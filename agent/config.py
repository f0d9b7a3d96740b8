"""The agent's YAML configuration: models, loading and errors that name the file, the key and the reason.

Loading runs in three steps, each reporting every problem it finds rather than the first one:
YAML parsing (with line and column), ``${ENV}`` interpolation (naming the key that referred to the unset
variable), then validation by pydantic models that refuse unknown keys, including each check's
``options`` against its type's own ``options_model`` from ``checks.REGISTRY``.
"""
from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator

from agent.interpolate import MissingVariable, interpolate
from checks.base import CheckType, Options

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"  # becomes a label value and the "component" of "component:measurement"
_NAME_RE = re.compile(NAME_PATTERN)


class ConfigError(Exception):
    """The configuration file cannot be used; ``problems`` are "file: key: reason" lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Strict):
    # Environment defaults are validated like file values (validate_default), so AGENT_PORT=abc is an error
    # naming server.port rather than a traceback.
    host: str = Field(default_factory=lambda: os.environ.get("AGENT_HOST", "127.0.0.1"), validate_default=True)
    port: int = Field(default_factory=lambda: os.environ.get("AGENT_PORT", "9300"), ge=1, le=65535,
                      validate_default=True)
    # Bearer token that unlocks outputs and observed values; without one nobody gets details.
    health_token: SecretStr | None = Field(default_factory=lambda: os.environ.get("AGENT_HEALTH_TOKEN"),
                                           validate_default=True)

    @field_validator("health_token", mode="after")
    @classmethod
    def _empty_means_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None


class StatusPageConfig(_Strict):
    # The page is for operators; outputs are scrubbed of secrets but may still reveal hostnames.
    show_output: bool = True
    refresh_seconds: float = Field(default=2.0, gt=0)


class CheckConfig(_Strict):
    type: str
    target: str = ""
    description: str = ""
    interval: float = Field(default=10.0, gt=0, description="seconds between two runs")
    timeout: float = Field(default=2.0, gt=0, description="seconds, less than the interval")
    jitter: float | None = Field(default=None, ge=0, description="seconds; default 10% of the interval, at most 1")
    critical: bool = False
    groups: list[str] = Field(default_factory=list)
    failure_threshold: int = Field(default=3, ge=1)
    success_threshold: int = Field(default=1, ge=1)
    warn_duration: float | None = Field(default=None, gt=0, description="a passing run slower than this is warn")
    measurement: str | None = None  # the "measurement" of "component:measurement"; default by type
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timeout", mode="after")
    @classmethod
    def _timeout_below_interval(cls, value: float, info: ValidationInfo) -> float:
        interval = info.data.get("interval")
        if interval is not None and value >= interval:
            raise ValueError(f"must be less than the interval ({interval:g} s), or runs would overlap")
        return value

    @field_validator("groups", mode="after")
    @classmethod
    def _group_names(cls, value: list[str]) -> list[str]:
        for group in value:
            if not _NAME_RE.match(group):
                raise ValueError(f"group name {group!r} must match {NAME_PATTERN}")
        return value

    @property
    def effective_jitter(self) -> float:
        return self.jitter if self.jitter is not None else min(1.0, self.interval * 0.1)


class AgentConfig(_Strict):
    server: ServerConfig = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    status_page: StatusPageConfig = Field(default_factory=StatusPageConfig)
    heartbeat_interval: float = Field(default=1.0, gt=0, description="seconds between scheduler heartbeats")
    history_size: int = Field(default=60, ge=1, le=10_000)
    checks: dict[str, CheckConfig] = Field(min_length=1)
    shipper: dict[str, Any] | None = None  # validated by agent.shipper's own model when that is installed

    @field_validator("checks", mode="after")
    @classmethod
    def _check_names(cls, value: dict[str, CheckConfig]) -> dict[str, CheckConfig]:
        for name in value:
            if not _NAME_RE.match(name):
                raise ValueError(f"check name {name!r} must match {NAME_PATTERN}")
        return value


@dataclass(frozen=True)
class CheckSpec:
    """One configured check, resolved against its type."""

    name: str
    config: CheckConfig
    check_type: CheckType[Any]
    options: Options


@dataclass(frozen=True)
class LoadedConfig:
    path: Path
    agent: AgentConfig
    checks: dict[str, CheckSpec]
    shipper: Any | None  # agent.shipper.config.ShipperConfig when the shipper is installed and configured


def default_registry() -> Mapping[str, CheckType[Any]]:
    """``checks.REGISTRY`` (empty while the checks package has none)."""
    return getattr(importlib.import_module("checks"), "REGISTRY", {})


def _dotted(loc: tuple[int | str, ...], prefix: str = "") -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _reason(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def _problems(path: Path, exc: ValidationError, prefix: str = "") -> list[str]:
    return [f"{path}: {_dotted(e['loc'], prefix)}: {_reason(e)}" for e in exc.errors()]


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file: {exc.strerror or exc}"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError([f"{where}: invalid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None


def _resolve_checks(path: Path, agent: AgentConfig, registry: Mapping[str, CheckType[Any]]) -> tuple[dict[str, CheckSpec], list[str]]:
    specs: dict[str, CheckSpec] = {}
    problems: list[str] = []
    for name, check in agent.checks.items():
        check_type = registry.get(check.type)
        if check_type is None:
            known = ", ".join(sorted(registry)) or "none registered"
            problems.append(f"{path}: checks.{name}.type: unknown check type {check.type!r} (known: {known})")
            continue
        try:
            options = check_type.options_model.model_validate(check.options)
        except ValidationError as exc:
            problems.extend(_problems(path, exc, prefix=f"checks.{name}.options"))
            continue
        specs[name] = CheckSpec(name=name, config=check, check_type=check_type, options=options)
    return specs, problems


def _validate_shipper(path: Path, section: dict[str, Any] | None) -> tuple[Any | None, list[str]]:
    if section is None:
        return None, []
    try:
        from agent.shipper.config import ShipperConfig  # optional: the shipper lives in its own package
    except ImportError:
        return section, []
    try:
        return ShipperConfig.model_validate(section), []
    except ValidationError as exc:
        return None, _problems(path, exc, prefix="shipper")


def load_config(path: str | Path, env: Mapping[str, str] | None = None,
                registry: Mapping[str, CheckType[Any]] | None = None) -> LoadedConfig:
    """Read, interpolate and validate the agent's YAML file; raise ConfigError listing every problem."""
    path = Path(path)
    env = os.environ if env is None else env
    registry = default_registry() if registry is None else registry
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: (top level): expected a mapping with a 'checks' key, got {type(raw).__name__}"])
    try:
        data = interpolate(raw, env)
    except MissingVariable as exc:
        raise ConfigError([f"{path}: {exc.path}: {exc}"]) from None
    try:
        agent = AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems(path, exc)) from None
    specs, problems = _resolve_checks(path, agent, registry)
    shipper, shipper_problems = _validate_shipper(path, agent.shipper)
    problems += shipper_problems
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(path=path, agent=agent, checks=specs, shipper=shipper)
