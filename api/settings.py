"""The API's one settings object, read from the environment (and an optional ``.env`` file).

Every variable is validated when the process starts; ``load_settings`` turns a validation failure into a
one-line message naming the variable, so ``island-api serve`` never shows a traceback for bad config.
"""
from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets shorter than this, or from this list, are refused outside dev/test (HS256 needs >= 256 bits).
MIN_SECRET_LENGTH = 32
KNOWN_WEAK_SECRETS = {"secret", "changeme", "change-me", "jwt-secret", "password", "dev", "test"}
DEV_ENVIRONMENTS = {"dev", "test"}


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the environment variable."""


class Settings(BaseSettings):
    """Everything the API reads from its environment. Names are the upper-case env var names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=False)

    environment: Literal["dev", "test", "staging", "prod"] = "dev"
    service_name: str = "island-api"

    database_url: str = "postgresql://postgres@127.0.0.1:5432/island_rides"
    db_pool_min_size: int = Field(1, ge=0, le=100)
    db_pool_max_size: int = Field(10, ge=1, le=200)
    db_connect_timeout_s: float = Field(5.0, gt=0, le=120)
    db_pool_timeout_s: float = Field(10.0, gt=0, le=120)
    db_statement_timeout_ms: int = Field(30_000, ge=100)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: float = Field(0.5, gt=0, le=30)

    jwt_secret: str = "dev-only-insecure-jwt-secret-change-me-0000"
    access_token_ttl_s: int = Field(15 * 60, ge=10)
    refresh_token_ttl_s: int = Field(30 * 24 * 3600, ge=60)
    max_failed_logins: int = Field(5, ge=1)
    lockout_s: int = Field(15 * 60, ge=1)
    # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile. Tests lower them.
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(64 * 1024, ge=8)
    cursor_secret: str = ""  # defaults to a key derived from JWT_SECRET

    stripe_api_base: str = "http://127.0.0.1:8420"
    stripe_api_key: str = "sk_test_12345"
    stripe_webhook_secret: str = "whsec_dev_only"
    # bookings (api/bookings): unpaid pending bookings expire after this; the date sweeper's period
    booking_payment_window_s: int = Field(30 * 60, ge=60)
    booking_sweep_interval_s: float = Field(60.0, gt=0, le=3600)

    smtp_url: str = "smtp://127.0.0.1:8025"
    mail_from: str = "Island Rides <no-reply@islandrides.test>"
    # e-mail outbox worker and chat/reviews background tasks (api/email, api/chat, api/reviews)
    smtp_timeout_s: float = Field(10.0, gt=0, le=120)
    email_poll_interval_s: float = Field(1.0, gt=0, le=300)
    email_max_attempts: int = Field(8, ge=1, le=50)
    email_backoff_base_s: float = Field(10.0, gt=0)
    email_backoff_cap_s: float = Field(1800.0, gt=0)
    ratings_refresh_debounce_s: float = Field(2.0, ge=0, le=300)
    chat_frames_per_s: float = Field(5.0, gt=0)
    chat_frame_burst: int = Field(20, ge=1)

    log_dir: Path = Path("./var/log")
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    agent_url: str = "http://127.0.0.1:9300"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["http://localhost:3000"])
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    shutdown_grace_s: int = Field(15, ge=1, le=600)  # open WebSockets/requests get this long on SIGTERM

    cache_ttl_s: int = Field(60, ge=1)
    rate_limit_enabled: bool = True
    rate_limit_anonymous: int = Field(100, ge=1)
    rate_limit_authenticated: int = Field(1000, ge=1)
    rate_limit_premium: int = Field(5000, ge=1)
    rate_limit_window_s: int = Field(15 * 60, ge=1)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if urlparse(value).scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if urlparse(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("stripe_api_base", "agent_url")
    @classmethod
    def _check_http_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s):// URL")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError("must be an smtp:// or smtps:// URL")
        return value

    @field_validator("stripe_api_key")
    @classmethod
    def _check_stripe_key(cls, value: str) -> str:
        if not value.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
            raise ValueError("must be a Stripe secret key (sk_test_... or sk_live_...)")
        return value

    @model_validator(mode="after")
    def _check_secrets_and_pool(self) -> Settings:
        if self.environment not in DEV_ENVIRONMENTS:
            weak = len(self.jwt_secret) < MIN_SECRET_LENGTH or self.jwt_secret.lower() in KNOWN_WEAK_SECRETS
            if weak or self.jwt_secret.startswith("dev-only"):
                raise ValueError(f"JWT_SECRET is too weak: use at least {MIN_SECRET_LENGTH} random characters "
                                 f"outside ENVIRONMENT=dev/test")
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
        return self

    @property
    def cursor_key(self) -> bytes:
        """The HMAC key of pagination cursors (CURSOR_SECRET, or derived from JWT_SECRET)."""
        secret = self.cursor_secret or self.jwt_secret
        return hmac.new(secret.encode(), b"island-rides pagination cursor v1", hashlib.sha256).digest()

    @property
    def is_dev(self) -> bool:
        return self.environment in DEV_ENVIRONMENTS


def _describe(error: ValidationError) -> str:
    """First validation error as 'NAME: message' (one line)."""
    first = error.errors()[0]
    loc = [str(part) for part in first.get("loc", ()) if part != "__root__"]
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if loc:
        return f"{loc[0].upper()}: {message}"
    return message


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings; raise ConfigError with a one-line message naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {_describe(exc)}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached)."""
    return load_settings()
