"""The log shipper's configuration: the optional ``shipper:`` section of the agent's YAML.

Every key has a sensible default, so ``shipper: {}`` ships ``$LOG_DIR/*.log`` to ``http://127.0.0.1:9200``.
Unknown keys are refused (``extra="forbid"``) so a typo is an error naming the key, not a silent default.
Durations are seconds, sizes are bytes.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _default_paths() -> list[str]:
    return [os.path.join(os.environ.get("LOG_DIR", "./logs"), "*.log")]


def _default_state_dir() -> Path:
    return Path(os.environ.get("SHIPPER_STATE_DIR", "./.shipper-state"))


class InputConfig(_Strict):
    """One group of files: globs, and the service name added to lines that carry none."""

    paths: list[str] = Field(default_factory=_default_paths, min_length=1, description="glob patterns")
    service_name: str = Field(default="island-rides", pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class IlmConfig(_Strict):
    """Rollover and retention of the data streams' backing indices (Elasticsearch only)."""

    rollover_max_primary_shard_size: str = "50gb"
    rollover_max_age: str = "1d"
    delete_after: str = "30d"


class ElasticsearchConfig(_Strict):
    """Where documents go and how the shipper authenticates."""

    hosts: list[str] = Field(default_factory=lambda: [os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200")],
                             min_length=1)
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    verify_certs: bool = True
    # auto: data streams on Elasticsearch 8/9, daily indices on OpenSearch-compatible servers.
    mode: Literal["auto", "data_stream", "daily_index"] = "auto"
    namespace: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9_]{0,99}$")
    # false: fields the template does not map stay in _source but are not indexed (cheaper, no mapping growth).
    index_unmapped_fields: bool = True
    ilm: IlmConfig = Field(default_factory=IlmConfig)
    request_timeout_s: float = Field(default=30.0, gt=0)
    # gzip level of bulk bodies: 1 costs a fraction of the default 9's CPU for most of its saving on JSON.
    compression_level: int = Field(default=1, ge=0, le=9, description="0 sends bodies uncompressed")

    @model_validator(mode="after")
    def _basic_auth_complete(self) -> ElasticsearchConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (or use api_key)")
        if self.api_key is not None and self.username is not None:
            raise ValueError("give either api_key or username/password, not both")
        return self


class BatchConfig(_Strict):
    """A bulk request is sent when any bound is reached."""

    max_events: int = Field(default=2000, ge=1)
    max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, description="uncompressed body size")
    max_wait_s: float = Field(default=1.0, gt=0, description="age of the oldest line in a partial batch")


class RetryConfig(_Strict):
    """Exponential backoff with full jitter for 429, 5xx and connection errors, retried indefinitely."""

    initial_backoff_s: float = Field(default=0.25, gt=0)
    max_backoff_s: float = Field(default=30.0, gt=0)


class ShipperConfig(_Strict):
    """The ``shipper:`` section of the agent's YAML."""

    enabled: bool = True
    inputs: list[InputConfig] = Field(default_factory=lambda: [InputConfig()], min_length=1)
    host_name: str = Field(default_factory=socket.gethostname, min_length=1)
    state_dir: Path = Field(default_factory=_default_state_dir, description="checkpoints live here")
    dead_letter_path: Path | None = Field(default=None, description="default: <state_dir>/dead-letter.ndjson")
    elasticsearch: ElasticsearchConfig = Field(default_factory=ElasticsearchConfig)
    batch: BatchConfig = Field(default_factory=BatchConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    max_in_flight: int = Field(default=2, ge=1, le=32, description="bulk requests at once")
    max_line_bytes: int = Field(default=1024 * 1024, ge=256, description="longer lines are cut and flagged")
    read_chunk_bytes: int = Field(default=1024 * 1024, ge=4096)
    scan_interval_s: float = Field(default=1.0, gt=0, description="how often the globs are re-evaluated")
    poll_interval_s: float = Field(default=0.2, gt=0, description="pause at the end of every file")
    close_inactive_s: float = Field(default=300.0, gt=0,
                                    description="a rotated or deleted file is closed after this long at EOF")
    checkpoint_interval_s: float = Field(default=1.0, ge=0, description="at most one checkpoint write per ...")
    stall_warn_after_s: float = Field(default=60.0, gt=0,
                                      description="health warns when nothing was delivered for this long "
                                                  "while there is a backlog")

    @field_validator("host_name")
    @classmethod
    def _no_quotes(cls, value: str) -> str:
        if any(c in value for c in '"\\\n'):
            raise ValueError("must not contain quotes, backslashes or newlines")
        return value

    @property
    def dead_letter_file(self) -> Path:
        """Where documents Elasticsearch refused for good are written, one JSON object per line."""
        return self.dead_letter_path or self.state_dir / "dead-letter.ndjson"
