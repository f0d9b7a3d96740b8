"""Every benchmark reads its counts through benchmarks.settings: a bad value stops it with a message that
names the variable, before anything starts (no traceback, no half-run benchmark)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.settings import names, positive_int, ratio

REPO = Path(__file__).resolve().parents[2]

# (module, variable, bad value, what the message must quote): one bad value each, read when the module is imported (or, for BENCH_ENDPOINTS, when
# its main() starts, before any child process or database).
CASES = [
    ("agent_health", "BENCH_IDLE_SECONDS", "sixty", "'sixty'"),
    ("api_cache", "BENCH_SECONDS", "3s", "'3s'"),
    ("chat_fanout", "BENCH_MESSAGES", "-5", "'-5'"),
    ("checks_cost", "BENCH_ROUNDS", "0", "'0'"),
    ("metrics_store", "BENCH_CALLS", "1e5", "'1e5'"),
    ("shipper", "BENCH_LINES", "1,000,000", "'1,000,000'"),
    ("shipper", "BENCH_BASELINE_SHARE", "25%", "'25%'"),
    ("span_pipeline", "BENCH_REQUESTS", "5k", "'5k'"),
    ("stripe_calls", "BENCH_CONCURRENCY", "", "''"),
    ("telemetry_cpu", "BENCH_REQUESTS", "many", "'many'"),
    ("telemetry_cpu", "BENCH_ENDPOINTS", "trivial,vehicle details", "['vehicle details']"),
    ("telemetry_ab", "BENCH_AB_WINDOW", "half", "'half'"),
    ("telemetry_ab", "BENCH_AB_VARIANTS", "as configured;no logs", "['no logs']"),
    ("telemetry_ab", "BENCH_AB_VARIANTS", "as configured", "at least two"),
    ("telemetry_ab", "BENCH_ENDPOINT", "vehicle", "'vehicle'"),
    ("telemetry_ab", "BENCH_MODE", "off", "'off' is not a mode with telemetry"),
]


@pytest.mark.parametrize(("module", "variable", "value", "quoted"), CASES)
def test_a_bad_setting_stops_the_benchmark_naming_the_variable(module, variable, value, quoted):
    # Only the variable under test: another BENCH_* of the caller's could fail first, for another reason.
    env = {key: val for key, val in os.environ.items() if not key.startswith("BENCH_")}
    # Its own process group: should the value be accepted (the bug), the benchmark starts servers of its
    # own, and they are stopped with it.
    proc = subprocess.Popen([sys.executable, "-m", f"benchmarks.{module}"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**env, variable: value}, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 1, stderr[-2000:]
    assert stderr.startswith(f"{variable}: ") and quoted in stderr, stderr[-2000:]
    assert "Traceback" not in stderr


def test_positive_int_and_ratio_accept_good_values_and_defaults(monkeypatch):
    monkeypatch.setenv("BENCH_X", " 12 ")
    assert positive_int("BENCH_X", 3) == 12
    monkeypatch.setenv("BENCH_X", "\u00b2")  # a digit to str.isdigit(), not to int()
    with pytest.raises(SystemExit, match="BENCH_X: expected a whole number >= 1"):
        positive_int("BENCH_X", 3)
    monkeypatch.delenv("BENCH_X")
    assert positive_int("BENCH_X", 3) == 3
    monkeypatch.setenv("BENCH_SHARE", "0.25")
    assert ratio("BENCH_SHARE", 0.5) == 0.25
    monkeypatch.setenv("BENCH_SHARE", "1.5")
    with pytest.raises(SystemExit, match="BENCH_SHARE: expected a number from 0 to 1, got '1.5'"):
        ratio("BENCH_SHARE", 0.5)


def test_names_keep_the_order_given_and_refuse_unknown_ones(monkeypatch):
    known = ("trivial", "vehicle detail (hit)", "search (miss)")
    monkeypatch.delenv("BENCH_ENDPOINTS", raising=False)
    assert names("BENCH_ENDPOINTS", known) == list(known)
    monkeypatch.setenv("BENCH_ENDPOINTS", "  ")
    assert names("BENCH_ENDPOINTS", known) == list(known)
    monkeypatch.setenv("BENCH_ENDPOINTS", "search (miss) , trivial")
    assert names("BENCH_ENDPOINTS", known) == ["search (miss)", "trivial"]
    monkeypatch.setenv("BENCH_ENDPOINTS", "trivial,")
    with pytest.raises(SystemExit, match=r"BENCH_ENDPOINTS: unknown \[''\]"):
        names("BENCH_ENDPOINTS", known)
