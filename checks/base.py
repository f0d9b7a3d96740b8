"""The one result type and the one signature every protocol check shares.

A check is an async function ``run(target, options, deadline) -> CheckResult`` living in its own module
(``checks/postgres.py``, ``checks/http.py``, ...), with a pydantic ``Options`` model describing its
type-specific settings (``extra="forbid"`` so the agent's config validation refuses unknown keys).
``checks.REGISTRY`` maps the type name used in the agent's config to its ``CheckType``.

Like blackbox_exporter's ``ProbeFn``, a check gets its deadline from the caller and must put it on every
I/O step (``deadline.remaining()`` / ``async with deadline.step("connect")``): no check can outlive its
timeout, whatever the far side does. A check never raises for a failure of the thing it probes: it
returns ``fail`` with an output text; secrets are scrubbed from every output (``checks.scrub``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict


class Status(StrEnum):
    """The IETF health draft's statuses; ``severity`` orders them for aggregation (worst wins)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"

    @property
    def severity(self) -> int:
        """0 for pass, 1 for warn, 2 for fail."""
        return {"pass": 0, "warn": 1, "fail": 2}[self.value]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one run of one check found.

    ``observed_value``/``observed_unit`` follow the IETF health draft's ``observedValue``/``observedUnit``;
    ``measurements`` holds any further numbers (per-phase timings, connections used/max, ...) keyed by a
    short snake_case name; ``tls_not_after`` is the earliest certificate expiry (Unix seconds) when TLS
    was involved, exported as ``probe_ssl_earliest_cert_expiry``.
    """

    status: Status
    output: str = ""
    observed_value: float | int | str | None = None
    observed_unit: str | None = None
    duration_s: float = 0.0
    finished_at: float = field(default_factory=time.time)
    measurements: dict[str, float] = field(default_factory=dict)
    tls_not_after: float | None = None


class Options(BaseModel):
    """Base for each check type's options: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


# An option holding a regular expression: a pattern that does not compile is refused when the config loads.
RegexPattern = Annotated[str, AfterValidator(_compiles)]


class DeadlineExceeded(Exception):
    """The deadline ran out while ``step`` ("connect", "tls handshake", "read", ...) was in progress."""

    def __init__(self, step: str) -> None:
        super().__init__(f"timed out during {step}")
        self.step = step


class Deadline:
    """An absolute deadline on the event loop's clock, shared by every I/O step of one check run.

    ``current_step`` names the step in progress (set by ``run``/``step``, or by a check that follows a
    library's progress itself), so a failure can say where it happened: "connect: connection refused".
    ``partial`` holds numbers a check gathered before it failed (the HTTP check's phases), so a timed-out
    run still tells how long connecting took.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.started = time.monotonic()
        self.at = self.started + timeout_s
        self.current_step = "start"
        self.partial: dict[str, float] = {}

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def elapsed(self) -> float:
        """Seconds since the deadline was created (the check run's duration so far)."""
        return time.monotonic() - self.started

    async def run(self, step: str, awaitable: Awaitable[Any]) -> Any:
        """Await ``awaitable`` within what is left of the deadline; raise DeadlineExceeded(step) if not."""
        self.current_step = step
        try:
            async with asyncio.timeout(self.remaining()):
                return await awaitable
        except TimeoutError:
            raise DeadlineExceeded(step) from None

    @contextlib.asynccontextmanager
    async def step(self, step: str) -> AsyncIterator[None]:
        """``async with deadline.step("read"):`` bounds a block of several awaits by the deadline.

        The block may refine ``current_step`` as it goes (the HTTP check follows httpcore's phases); a
        timeout names the step in progress when it struck.
        """
        self.current_step = step
        try:
            async with asyncio.timeout(self.remaining()):
                yield
        except TimeoutError:
            raise DeadlineExceeded(self.current_step) from None


O = TypeVar("O", bound=Options)
CheckFn = Callable[[str, O, Deadline], Awaitable[CheckResult]]


@dataclass(frozen=True)
class CheckType(Generic[O]):
    """A registered protocol: its config model and its run function."""

    name: str
    options_model: type[O]
    run: CheckFn[O]
    component_type: str = "component"  # IETF health draft componentType: datastore | system | component
