"""Structured logging in Elastic Common Schema: structlog processors, redaction and the JSON-lines sink."""
from exporters.logs.setup import configure_logging, emit, flush_logs, parse_level

__all__ = ["configure_logging", "emit", "flush_logs", "parse_level"]
