"""Statistics where the true answer is known, and the comparison gate on constructed runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.synthetic import DEFAULT_METRICS, noisy, write_run
from triptych.cli import main
from triptych.report.analysis import analyse
from triptych.report.compare import changes
from triptych.report.load import load_runs
from triptych.report.stats import compare, min_p_value


def test_planted_2x_slowdown_comes_out_as_2x_with_a_ci_that_covers_it() -> None:
    rng = np.random.default_rng(7)
    host = 1000 * (1 + rng.normal(0, 0.03, 9))
    slow = 2000 * (1 + rng.normal(0, 0.03, 9))
    c = compare(slow, host, higher_is_better=False)
    assert c.ratio == pytest.approx(2.0, rel=0.05)
    assert c.ci_low <= 2.0 <= c.ci_high
    assert c.significant
    assert c.worse
    assert c.cost == pytest.approx(2.0, rel=0.05)
    # The same slowdown of a throughput: half the events, cost 2x.
    t = compare(1000 / slow * 1000, 1000 / host * 1000, higher_is_better=True)
    assert t.cost == pytest.approx(2.0, rel=0.05)
    assert t.worse


def test_identical_distributions_are_not_significant() -> None:
    rng = np.random.default_rng(11)
    misses = 0
    for _ in range(40):
        a = 1000 * (1 + rng.normal(0, 0.05, 7))
        b = 1000 * (1 + rng.normal(0, 0.05, 7))
        misses += compare(a, b, higher_is_better=True).significant
    assert (
        misses <= 5
    )  # about 5% false positives expected at alpha 0.05; far fewer when CI must agree


def test_three_rounds_can_never_be_significant() -> None:
    assert min_p_value(3, 3) == pytest.approx(0.1)
    c = compare(np.array([2.0, 2.1, 2.2]), np.array([1.0, 1.1, 1.2]), higher_is_better=False)
    assert not c.testable
    assert not c.significant
    assert min_p_value(7, 7) < 0.01


def test_report_analysis_on_constructed_runs(tmp_path: Path) -> None:
    write_run(
        tmp_path / "0001_a.json",
        ["host", "docker-bridge", "vm"],
        7,
        noisy({"host": 1.0, "docker-bridge": 1.0, "vm": 2.0}),
    )
    (g,) = analyse(load_runs([tmp_path]).samples, load_runs([tmp_path]).machines)
    # cpu events is higher-better: a value of 2x is a *better* platform (cost 0.5).
    assert g.summary["cpu"]["vm"] == pytest.approx(0.5, rel=0.1)
    assert g.summary["network"]["vm"] == pytest.approx(2.0, rel=0.1)
    assert g.summary["cpu"]["docker-bridge"] == pytest.approx(1.0, abs=0.1)
    assert g.significant["network"]["vm"] == (1, 0, 1)
    assert g.significant["network"]["docker-bridge"][:2] == (0, 0)


def test_environments_are_not_mixed(tmp_path: Path) -> None:
    write_run(tmp_path / "0001_a.json", ["host", "vm"], 5, noisy({}), date="2026-11-01T00:00:00")
    write_run(
        tmp_path / "0002_b.json",
        ["host", "vm"],
        5,
        noisy({}),
        date="2026-11-02T00:00:00",
        machine={"kernel": "6.2.0-other"},
    )
    groups = analyse(load_runs([tmp_path]).samples, load_runs([tmp_path]).machines)
    assert len(groups) == 2
    assert groups[0].latest == "0002_b"
    assert "kernel=6.2.0-other" in groups[0].env


def test_compare_gate_fails_on_planted_regression_and_passes_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_run(tmp_path / "base.json", ["host", "docker-bridge"], 7, noisy({}, seed=1))
    same = write_run(tmp_path / "same.json", ["host", "docker-bridge"], 7, noisy({}, seed=2))
    worse = write_run(
        tmp_path / "worse.json", ["host", "docker-bridge"], 7, noisy({"docker-bridge": 1.3}, seed=3)
    )
    assert main(["compare", str(base), str(same)]) == 0
    out = capsys.readouterr().out
    assert "**0 regression(s)**" in out
    assert main(["compare", str(base), str(worse)]) == 1
    out = capsys.readouterr().out
    # +30% of a latency is a regression; +30% of events/s is an improvement.
    assert "### Regressions" in out
    assert "| net-latency | round-trip time p50 | docker-bridge |" in out
    assert "### Improvements" in out
    # A generous per-metric threshold lets the latency change pass the gate.
    assert (
        main(["compare", str(base), str(worse), "--metric-threshold", "round-trip time p50=50"])
        == 0
    )


def test_compare_thresholds_in_each_direction(tmp_path: Path) -> None:
    base = write_run(tmp_path / "b.json", ["host"], 7, noisy({}, seed=4))
    cur = write_run(tmp_path / "c.json", ["host"], 7, noisy({"host": 0.8}, seed=5))
    found = {c.metric: c for c in changes(load_runs([base]), load_runs([cur]))}
    assert found["cpu events"].regression  # 20% fewer events/s
    assert found["round-trip time p50"].improvement  # 20% lower latency
    assert len(found) == len(DEFAULT_METRICS)


def test_compare_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.json").write_text('{"benchmarks": [')
    assert main(["compare", str(tmp_path / "broken.json"), str(tmp_path / "broken.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"triptych: error: {tmp_path / 'broken.json'}: not a readable")
    assert err.count("\n") == 1
    assert main(["compare", str(tmp_path / "nope.json"), str(tmp_path / "x.json")]) == 2
    assert "no such run file or directory" in capsys.readouterr().err
    assert main(["compare", "a", "b", "--metric-threshold", "p99"]) == 2
    assert "expected METRIC=PERCENT" in capsys.readouterr().err


def test_cache_follows_the_file(tmp_path: Path) -> None:
    run = write_run(tmp_path / "0001_a.json", ["host"], 3, noisy({"host": 1.0}, seed=1))
    first = load_runs([tmp_path]).samples.value.median()
    assert list((tmp_path / ".triptych-cache").iterdir())  # digest cached beside the runs
    write_run(run, ["host"], 3, noisy({"host": 3.0}, seed=1))  # the run is replaced
    second = load_runs([tmp_path]).samples.value.median()
    assert second == pytest.approx(3 * first, rel=0.1)


def test_many_runs_load_in_parallel_like_one(tmp_path: Path) -> None:
    for i in range(20):
        write_run(
            tmp_path / f"{i:04d}_n.json",
            ["host", "vm"],
            3,
            noisy({"vm": 2.0}, seed=i),
            date=f"2026-10-{i + 1:02d}T00:00:00",
        )
    runs = load_runs([tmp_path])
    assert runs.samples.run.nunique() == 20
    assert len(runs.samples) == 20 * 2 * 2 * 3
    one = load_runs([tmp_path / "0007_n.json"]).samples
    both = runs.samples[runs.samples.run == "0007_n"]
    assert sorted(one.value) == sorted(both.value)


def test_summary_cost_is_the_geometric_mean_oriented_by_direction(tmp_path: Path) -> None:
    # Exact values (no noise): docker-bridge has 2x the events/s (cost 0.5), 4x the events of
    # a second CPU metric (cost 0.25) and 2x the round-trip time (cost 2).
    metrics = [
        *DEFAULT_METRICS,
        ("cpu-other", "cpu", "other events", "events/s", True),
    ]
    scale = {"cpu events": 2.0, "other events": 4.0, "round-trip time p50": 2.0}

    def value(platform: str, metric: tuple[str, str, str, str, bool], r: int) -> float:
        return 100.0 * (scale[metric[2]] if platform == "docker-bridge" else 1.0)

    write_run(tmp_path / "0001_x.json", ["host", "docker-bridge"], 4, value, metrics=metrics)
    runs = load_runs([tmp_path])
    (g,) = analyse(runs.samples, runs.machines)
    assert g.summary["cpu"]["docker-bridge"] == pytest.approx((0.5 * 0.25) ** 0.5)
    assert g.summary["network"]["docker-bridge"] == pytest.approx(2.0)
