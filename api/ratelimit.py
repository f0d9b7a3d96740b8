"""Per-tier request limits on Redis with the ``limits`` library, as pure ASGI middleware.

Tiers: anonymous callers by client IP, authenticated users by user id, premium users by user id with a
higher allowance (defaults 100 / 1,000 / 5,000 per 15 minutes; settings ``RATE_LIMIT_*``). Fixed windows:
the first request starts a window of ``RATE_LIMIT_WINDOW_S`` seconds.

Every limited response carries ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds)
and ``RateLimit-Policy``; a refused one is a 429 envelope with ``Retry-After``. When Redis fails the
limiter fails open: the request is served, the outage is logged (rate-limited) and counted.

Why storage calls instead of ``FixedWindowRateLimiter.hit`` + ``get_window_stats``: that pair costs three
sequential Redis round trips per request; the same library storage's ``incr`` (its atomic Lua
increment-with-expiry) and ``get_expiry`` run concurrently cost one round trip of latency.
"""
from __future__ import annotations

import asyncio
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.tokens import InvalidToken, decode_access_token
from api.errors import error_body
from api.redis_guard import guard_for
from api.settings import Settings
from exporters import instruments

LIMITED_PREFIX = "/v1/"
EXEMPT_PREFIXES = ("/v1/webhooks",)  # the payment provider's calls are authenticated by signature instead
KEY_PREFIX = "ir:rl"


class RateLimitMiddleware:
    """Counts each /v1/ request against its caller's tier; 429 once the window's allowance is used."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        window = settings.rate_limit_window_s
        self.items = {
            "anonymous": RateLimitItemPerSecond(settings.rate_limit_anonymous, window),
            "authenticated": RateLimitItemPerSecond(settings.rate_limit_authenticated, window),
            "premium": RateLimitItemPerSecond(settings.rate_limit_premium, window),
        }
        self.storage = RedisStorage("async+" + settings.redis_url, implementation="redispy", key_prefix=KEY_PREFIX,
                                    socket_timeout=settings.redis_timeout_s,
                                    socket_connect_timeout=settings.redis_timeout_s)

    def _caller(self, scope: Scope) -> tuple[str, str]:
        """(tier, identity). An invalid token counts as anonymous; the route answers it with 401."""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token:
                    try:
                        principal = decode_access_token(self.settings, token.strip())
                    except InvalidToken:
                        break
                    # the access log shows the user even on routes that do not ask for one
                    scope.setdefault("state", {})["user_id"] = principal.user_id
                    return ("premium" if principal.premium else "authenticated"), f"user:{principal.user_id}"
                break
        client = scope.get("client")
        return "anonymous", f"ip:{client[0] if client else 'unknown'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or not self.settings.rate_limit_enabled or scope.get("method") == "OPTIONS"
                or not path.startswith(LIMITED_PREFIX) or path.startswith(EXEMPT_PREFIXES)):
            await self.app(scope, receive, send)
            return
        guard = guard_for(self.storage)
        if not guard.available():
            await self.app(scope, receive, send)
            return
        tier, identity = self._caller(scope)
        item = self.items[tier]
        key = item.key_for(identity)
        try:
            count, reset_at = await asyncio.gather(self.storage.incr(key, item.get_expiry()),
                                                   self.storage.get_expiry(key))
            guard.succeeded()
        except Exception as exc:  # noqa: BLE001 - any storage failure: fail open, logged and counted
            guard.failed("rate_limit", exc)
            await self.app(scope, receive, send)
            return
        now = time.time()
        reset_s = math.ceil(reset_at - now) if reset_at > now else item.get_expiry()  # a brand-new window
        headers = [
            (b"ratelimit-limit", str(item.amount).encode()),
            (b"ratelimit-remaining", str(max(0, item.amount - count)).encode()),
            (b"ratelimit-reset", str(reset_s).encode()),
            (b"ratelimit-policy", f"{item.amount};w={item.get_expiry()}".encode()),
        ]
        if count > item.amount:
            instruments.rate_limited(tier)
            await self._refuse(scope, send, tier, reset_s, headers)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, tier: str, reset_s: int, headers: list[tuple[bytes, bytes]]) -> None:
        body = error_body(429, f"rate limit of the {tier} tier exceeded; retry in {reset_s} s",
                          request_id=scope.get("state", {}).get("request_id"), extra={"tier": tier})
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(reset_s).encode()), *headers]})
        await send({"type": "http.response.body", "body": body})
