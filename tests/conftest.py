"""Fixtures for every test."""
from collections.abc import Iterator

import pytest

from exporters.logs import flush_logs


@pytest.fixture(autouse=True)
def _write_pending_log_lines() -> Iterator[None]:
    """Log lines are written up to ``ISLAND_LOG_FLUSH_MS`` after they are logged: the lines a test left
    pending are written at its end, inside pytest's output capture, not at the exit of the whole run."""
    yield
    flush_logs()
