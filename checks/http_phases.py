"""Per-phase timings of an HTTP request, as blackbox_exporter's ``probe_http_duration_seconds{phase}``.

httpx does not report phases, but httpcore calls a ``trace`` extension around each step of a request
(``connection.connect_tcp.started`` / ``.complete``, ``connection.start_tls.*``,
``http11.send_request_headers.*``, ``http11.receive_response_headers.*``,
``http11.receive_response_body.*``). ``PhaseRecorder`` turns those events into the five phases and keeps
the deadline's ``current_step`` up to date, so a timeout says which phase hung. Name resolution is done
before the request (``resolve``), because httpcore resolves inside ``connect_tcp`` and cannot tell the two
apart; the request then goes to the resolved address with the original ``Host`` and SNI.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Mapping
from typing import Any

from checks.base import Deadline

PHASES = ("resolve", "connect", "tls", "processing", "transfer")

# httpcore operation -> the phase it belongs to. Sending the request and waiting for its first byte is
# "processing", as in blackbox_exporter (the server's think time dominates it).
_OPERATION_PHASE = {
    "connect_tcp": "connect",
    "start_tls": "tls",
    "send_request_headers": "processing",
    "send_request_body": "processing",
    "receive_response_headers": "processing",
    "receive_response_body": "transfer",
}


def measurement_key(phase: str) -> str:
    """The name of ``phase``'s seconds among a CheckResult's measurements (``phase_connect_s``)."""
    return f"phase_{phase}_s"


def phase_seconds(measurements: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """(phase, seconds) for each phase a result's measurements hold (a failed run: the ones it reached)."""
    return tuple((phase, measurements[measurement_key(phase)]) for phase in PHASES
                 if measurement_key(phase) in measurements)


class PhaseRecorder:
    """Sums the time spent in each phase over every hop (redirects included) of one check run."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self._started: dict[str, float] = {}

    def add(self, phase: str, seconds: float) -> None:
        """Count ``seconds`` more in ``phase``."""
        self.seconds[phase] += seconds
        self.deadline.partial[measurement_key(phase)] = self.seconds[phase]  # kept if the run fails

    async def trace(self, event_name: str, info: dict[str, Any]) -> None:
        """The httpcore ``trace`` extension callback."""
        operation, _, stage = event_name.partition(".")[2].rpartition(".")
        phase = _OPERATION_PHASE.get(operation)
        if phase is None:
            return
        if stage == "started":
            self._started[operation] = time.monotonic()
            self.deadline.current_step = phase
        elif operation in self._started:  # "complete" or "failed"
            self.add(phase, time.monotonic() - self._started.pop(operation))

    def close_open_phases(self) -> None:
        """Count the phase that was running when the deadline cut the request short."""
        now = time.monotonic()
        for operation, started in self._started.items():
            self.add(_OPERATION_PHASE[operation], now - started)
        self._started.clear()


async def resolve(host: str, port: int, recorder: PhaseRecorder, deadline: Deadline) -> list[str]:
    """The addresses of ``host`` in resolver order (an IP literal as is), timed as the resolve phase."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    try:
        infos = await deadline.run("resolve", loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    finally:
        recorder.add("resolve", time.monotonic() - started)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
