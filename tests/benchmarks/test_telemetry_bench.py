"""The telemetry benchmark's own logic: which servers it starts and how it reads its rounds."""
from __future__ import annotations

import pytest

from benchmarks import telemetry as bench


def test_paired_runs_give_every_mode_an_off_twin(monkeypatch):
    monkeypatch.setattr(bench, "MODES", {"off": {"ISLAND_TELEMETRY": "off"},
                                         "full (10%)": {"ISLAND_TELEMETRY": "on"},
                                         "off again (A/A control)": {"ISLAND_TELEMETRY": "off"}})
    monkeypatch.setattr(bench, "PAIRED", True)
    roles = bench.server_roles()
    assert roles == {"off, twin of full (10%)": {"ISLAND_TELEMETRY": "off"}, "full (10%)": {"ISLAND_TELEMETRY": "on"},
                     "off, twin of off again (A/A control)": {"ISLAND_TELEMETRY": "off"},
                     "off again (A/A control)": {"ISLAND_TELEMETRY": "off"}}
    assert bench.baseline_role("full (10%)") == "off, twin of full (10%)"
    monkeypatch.setattr(bench, "PAIRED", False)  # in turn, one off server for every mode
    assert bench.server_roles() == bench.MODES and bench.baseline_role("full (10%)") == "off"


def test_median_interval_is_the_widest_order_statistics_that_keep_95_percent():
    rounds = [0.93, 0.79, 1.02, 0.88, 0.90, 0.86, 0.81, 0.97, 0.92, 0.91]  # unsorted on purpose
    assert bench.median_interval(rounds) == (0.81, 0.97, 1 - 2 * 11 / 1024)  # 2nd smallest, 2nd largest
    low, high, confidence = bench.median_interval([float(i) for i in range(1, 21)])
    assert (low, high) == (6.0, 15.0) and 0.95 <= confidence < 0.96
    # Too few rounds for 95 %: the whole range, with the confidence it really has.
    assert bench.median_interval([0.9, 0.8, 1.0]) == (0.8, 1.0, 0.75)
    assert bench.median_interval([0.9] * 6) == (0.9, 0.9, 1 - 2 / 64)


@pytest.mark.parametrize(("value", "low", "target", "mark"), [
    (0.92, 0.91, 0.90, " ok"), (0.92, 0.88, 0.90, " ok?"), (0.89, 0.86, 0.90, " <0.9"), (0.5, 0.4, None, ""),
    (0.90, 0.90, 0.90, " ok"), (0.896, 0.88, 0.90, " ok?"), (0.894, 0.88, 0.90, " <0.9")])
def test_verdict_marks_a_target_met_only_when_the_interval_clears_it(value, low, target, mark):
    assert bench.verdict(value, low, target) == mark


@pytest.mark.parametrize("paired", [True, False])
def test_a_cell_loads_off_and_the_mode_twice_each_in_the_order_off_mode_mode_off(monkeypatch, paired):
    monkeypatch.setattr(bench, "PAIRED", paired)
    schedule = bench.cell_schedule("full (10%)")
    off = "off, twin of full (10%)" if paired else "off"
    assert [role for group in schedule for role in group] == [off, "full (10%)", "full (10%)", off]
    if paired:  # both under load at once, each wrk started first once
        assert schedule == [(off, "full (10%)"), ("full (10%)", off)]
    else:  # one server at a time
        assert all(len(group) == 1 for group in schedule)


@pytest.mark.parametrize("paired", [True, False])
def test_cell_ratios_compare_the_mode_runs_with_the_off_runs(monkeypatch, paired):
    monkeypatch.setattr(bench, "PAIRED", paired)

    def measure(rps, cpu):
        return bench.Measure(rps=rps, cpu_us_per_request=cpu, bad=0)

    # off, mode, mode, off: sums of each side, not a mean of per-run ratios (that would be 0.8583 here)
    runs = [measure(1000, 400), measure(850, 470), measure(950, 420), measure(1100, 380)]
    assert bench.cell_totals("full (10%)", runs) == (2100, 1800, 780, 890)
    rps, cpu = bench.cell_ratios("full (10%)", runs)
    assert rps == pytest.approx(1800 / 2100) and cpu == pytest.approx(780 / 890)


def test_modes_that_price_one_thing_run_only_when_named(monkeypatch):
    """Without BENCH_MODES the diagnostic modes (each part alone, nothing run per request) stay out; named,
    they run beside off."""
    everything = dict(bench.MODES)
    monkeypatch.setattr(bench, "MODES", everything)
    monkeypatch.delenv("BENCH_MODES", raising=False)
    bench.select_modes()
    assert "full (10%)" in bench.MODES and "off" in bench.MODES
    assert not set(bench.PART_MODES) & set(bench.MODES)
    monkeypatch.setattr(bench, "MODES", everything)
    monkeypatch.setenv("BENCH_MODES", "full, nothing per request")
    bench.select_modes()
    assert list(bench.MODES) == ["off", "full, nothing per request"]
    assert bench.MODES["full, nothing per request"]["BENCH_AB_HOOK_VARIANTS"] == "nothing per request"
