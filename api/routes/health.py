"""GET /health: the health agent's verdict on the API's dependencies, relayed without running any check.

The agent (sidecar, ``AGENT_URL``) already knows; this route fetches its ``/health`` at most once a second
per caller class (anonymous, or one Authorization header) and answers with the same status code and body.
The caller's ``Authorization`` header is forwarded, so details appear only for callers the agent trusts.
When the agent cannot be reached the API still answers -- warn (200) with a failing ``agent:reachability``
check -- because a missing sidecar is a monitoring problem, not a reason for a load balancer to drop the API.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter(tags=["probes"])
log = logging.getLogger("api.health")

HEALTH_MEDIA_TYPE = "application/health+json"
CACHE_TTL_S = 1.0
FETCH_TIMEOUT_S = 1.0
MAX_CACHED_CALLERS = 16  # anonymous plus a few distinct tokens; older entries are dropped


@dataclass(frozen=True)
class _Answer:
    status_code: int
    body: bytes
    fetched_at: float


class AgentHealthRelay:
    """A 1-second cache in front of the agent's /health, one fetch in flight per caller class."""

    def __init__(self, agent_url: str, ttl_s: float = CACHE_TTL_S, timeout_s: float = FETCH_TIMEOUT_S) -> None:
        self.url = agent_url.rstrip("/") + "/health"
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._cache: OrderedDict[str | None, _Answer] = OrderedDict()
        self._locks: dict[str | None, asyncio.Lock] = {}
        self.fetches = 0  # how many times the agent was asked (the benchmark and tests read it)
        # One client for the relay's life: creating one loads the CA bundle (~40 ms measured, blocking the
        # event loop), and keep-alive spares a TCP handshake per fetch.
        self._client: httpx.AsyncClient | None = None

    async def answer(self, authorization: str | None) -> _Answer:
        """The agent's answer for a caller presenting ``authorization``, at most ``ttl_s`` old."""
        cached = self._fresh(authorization)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(authorization, asyncio.Lock())
        async with lock:  # concurrent callers wait for one fetch instead of each asking the agent
            cached = self._fresh(authorization)
            if cached is not None:
                return cached
            answer = await self._fetch(authorization)
            self._cache[authorization] = answer
            self._cache.move_to_end(authorization)
            while len(self._cache) > MAX_CACHED_CALLERS:
                evicted, _ = self._cache.popitem(last=False)
                self._locks.pop(evicted, None)
            return answer

    async def aclose(self) -> None:
        """Close the relay's HTTP client (it is opened again on the next fetch)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _fresh(self, authorization: str | None) -> _Answer | None:
        cached = self._cache.get(authorization)
        if cached is not None and time.monotonic() - cached.fetched_at < self.ttl_s:
            return cached
        return None

    async def _fetch(self, authorization: str | None) -> _Answer:
        self.fetches += 1
        headers = {"Accept": HEALTH_MEDIA_TYPE}
        if authorization:
            headers["Authorization"] = authorization
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        try:
            response = await self._client.get(self.url, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("health agent unreachable at %s: %s", self.url, type(exc).__name__)
            return unreachable_answer()
        if response.status_code not in (200, 503) or not response.headers.get("content-type", "").startswith(
                HEALTH_MEDIA_TYPE):
            log.warning("health agent at %s answered %s, not a health document", self.url, response.status_code)
            return unreachable_answer()
        return _Answer(response.status_code, response.content, time.monotonic())


def unreachable_answer() -> _Answer:
    """warn (200) with a failing ``agent:reachability`` check; no detail, the log has it."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {
        "status": "warn",
        "serviceId": "island-api",
        "description": "the health agent could not be reached; dependency health is unknown",
        "checks": {"agent:reachability": [{"status": "fail", "componentType": "component", "time": now}]},
    }
    return _Answer(200, orjson.dumps(body), time.monotonic())


def _relay(request: Request) -> AgentHealthRelay:
    relay = getattr(request.app.state, "agent_health_relay", None)
    if relay is None:
        relay = AgentHealthRelay(request.app.state.settings.agent_url)
        request.app.state.agent_health_relay = relay
    return relay


@router.get("/health", response_class=Response, responses={
    200: {"description": "pass or warn", "content": {HEALTH_MEDIA_TYPE: {}}},
    503: {"description": "a critical dependency fails", "content": {HEALTH_MEDIA_TYPE: {}}},
})
async def health(request: Request) -> Response:
    """The agent's verdict (same status code and body), cached at most one second."""
    answer = await _relay(request).answer(request.headers.get("authorization"))
    return Response(answer.body, status_code=answer.status_code, media_type=HEALTH_MEDIA_TYPE,
                    headers={"Cache-Control": "no-store"})
