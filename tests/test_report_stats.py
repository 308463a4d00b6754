"""Statistics where the true answer is known, and the comparison gate on constructed runs."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.synthetic import DEFAULT_METRICS, Metric, noisy, write_run
from triptych.cli import main
from triptych.gate.compare import Sides, changes, floor_of
from triptych.gate.history import newest_against_history
from triptych.report.analysis import analyse
from triptych.report.summary import SummaryCell
from triptych.results.load import load_runs
from triptych.verdict.effect import SLOWER


def test_report_analysis_on_constructed_runs(tmp_path: Path) -> None:
    write_run(
        tmp_path / "0001_a.json",
        ["host", "docker-bridge", "vm"],
        7,
        noisy({"host": 1.0, "docker-bridge": 1.0, "vm": 2.0}),
    )
    (g,) = analyse(load_runs([tmp_path]).samples, load_runs([tmp_path]).machines)
    # cpu events is higher-better: a value of 2x is a *better* platform (cost 0.5).
    assert g.summary["cpu"]["vm"].cost == pytest.approx(0.5, rel=0.1)
    assert g.summary["network"]["vm"].cost == pytest.approx(2.0, rel=0.1)
    assert g.summary["cpu"]["docker-bridge"].cost == pytest.approx(1.0, abs=0.1)
    assert g.summary["network"]["vm"].verdicts == (SLOWER,)
    assert g.summary["network"]["vm"].direction == SLOWER
    assert g.summary["network"]["docker-bridge"].direction == ""  # no finding, no colour
    assert g.summary["cpu"]["vm"].cases == ("cpu-sysbench",)


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
        tmp_path / "worse.json", ["host", "docker-bridge"], 7, noisy({"docker-bridge": 2.0}, seed=3)
    )
    assert main(["compare", str(base), str(same)]) == 0
    out = capsys.readouterr().out
    assert "**0 regression(s)**" in out
    assert "one baseline run" in out  # and so the noise floors apply
    assert main(["compare", str(base), str(worse)]) == 1
    out = capsys.readouterr().out
    # 2x the latency is a regression; 2x the events/s is an improvement.
    assert "### Regressions" in out
    assert "| net-latency | round-trip time p50 | docker-bridge |" in out
    assert "2.0" in out.split("### Regressions")[1]
    assert "### Improvements" in out
    # A generous per-metric threshold lets the latency change pass the gate.
    assert (
        main(["compare", str(base), str(worse), "--metric-threshold", "round-trip time p50=100"])
        == 0
    )


def test_a_single_baseline_needs_the_family_noise_floor(tmp_path: Path) -> None:
    # 25% more latency with 3% round noise is clear within one run, but below the network
    # family's floor for run-to-run noise a single baseline cannot show: not a regression.
    rng = np.random.default_rng(5)

    def scaled(factors: dict[str, float]) -> Callable[[str, Metric, int], float]:
        return lambda _p, m, _r: float(1000 * factors.get(m[2], 1.0) * (1 + rng.normal(0, 0.03)))

    base = write_run(tmp_path / "b.json", ["host"], 7, scaled({}))
    cur = write_run(
        tmp_path / "c.json", ["host"], 7, scaled({"round-trip time p50": 1.25, "cpu events": 2.5})
    )
    found = {c.metric: c for c in changes(Sides.of(load_runs([base]), load_runs([cur])))}
    assert not found["round-trip time p50"].regression
    # By hand: 3 standard deviations of the difference of two runs of spread 0.15.
    network = math.exp(3 * math.sqrt(2) * 0.15) - 1
    assert found["round-trip time p50"].margin == pytest.approx(network)
    # CPU's floor is lower: 2.5x the events/s is beyond it (an improvement).
    assert found["cpu events"].margin < network
    assert found["cpu events"].improvement
    # Tail latencies move most from run to run: their floor is the widest.
    assert floor_of("network", "round-trip time p99.9") > floor_of("disk", "read bandwidth")
    assert floor_of("network", "round-trip time p99.9") == floor_of("disk", "read latency p99")


def test_a_history_of_runs_is_the_noise_model(tmp_path: Path) -> None:
    # Five baseline runs whose means wander 2% from run to run (their rounds 1%); runs are
    # units: a current run 15% slower is beyond what that history predicts.
    for i in range(5):
        write_run(
            tmp_path / "history" / f"{i:04d}_n.json",
            ["host"],
            7,
            noisy(
                {"host": float(np.exp(np.random.default_rng(i).normal(0, 0.02)))}, cv=0.01, seed=i
            ),
            date=f"2026-11-0{i + 1}T00:00:00",
        )
    same = write_run(tmp_path / "same.json", ["host"], 7, noisy({}, cv=0.01, seed=10))
    slower = write_run(tmp_path / "slow.json", ["host"], 7, noisy({"host": 1.3}, cv=0.01, seed=11))
    history = load_runs([tmp_path / "history"])
    unchanged = changes(Sides.of(history, load_runs([same])))
    assert {c.history for c in unchanged} == {5}
    assert not any(c.regression or c.improvement for c in unchanged)
    found = {c.metric: c for c in changes(Sides.of(history, load_runs([slower])))}
    assert found["round-trip time p50"].regression
    assert found["round-trip time p50"].effect.cost == pytest.approx(1.3, rel=0.05)


def test_the_nightly_history_is_of_the_newest_runs_scenario(tmp_path: Path) -> None:
    """A quick run saved among the nightly ones is no history of theirs."""
    runs = tmp_path / "results"
    for i in range(4):
        path = write_run(
            runs / f"{i:04d}_n.json",
            ["host"],
            3,
            noisy({}, seed=i),
            date=f"2026-11-0{i + 1}T00:00:00",
        )
        if i == 1:  # the second is a run of another scenario
            doc = json.loads(path.read_text())
            for b in doc["benchmarks"]:
                b["extra_info"]["scenario"] = "quick"
            path.write_text(json.dumps(doc))
    baseline, current, name, newest = newest_against_history(load_runs([runs]), 7)
    assert newest == "0003_n"
    assert set(current.samples.run) == {"0003_n"}
    assert sorted(baseline.samples.run.unique()) == ["0000_n", "0002_n"]
    assert name == "2 earlier run(s) in the same environment and scenario"


def test_compare_refuses_what_it_cannot_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_run(tmp_path / "b.json", ["host", "vm"], 5, noisy({}, seed=1))
    other = write_run(
        tmp_path / "k.json", ["host", "vm"], 5, noisy({}, seed=2), machine={"kernel": "6.9.9"}
    )
    assert main(["compare", str(base), str(other)]) == 2
    err = capsys.readouterr().err
    assert "different environments (kernel: 6.1.0-test vs 6.9.9)" in err
    assert "--allow-env-change" in err
    assert err.count("\n") == 1
    assert main(["compare", str(base), str(other), "--allow-env-change"]) == 0
    capsys.readouterr()
    # A platform missing from the current run fails the gate, listed; --allow-missing passes.
    host_only = write_run(tmp_path / "h.json", ["host"], 5, noisy({}, seed=3))
    assert main(["compare", str(base), str(host_only)]) == 1
    out = capsys.readouterr().out
    assert "CURRENT lacks 2 metric(s)" in out
    assert "cpu-sysbench / cpu events / vm" in out
    assert main(["compare", str(base), str(host_only), "--allow-missing"]) == 0


def test_compare_refuses_a_changed_unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_run(tmp_path / "b.json", ["host"], 5, noisy({}, seed=1))
    metrics = [("cpu-sysbench", "cpu", "cpu events", "events/min", True)]
    cur = write_run(tmp_path / "c.json", ["host"], 5, noisy({}, seed=2), metrics=metrics)
    assert main(["compare", str(base), str(cur), "--allow-missing"]) == 2
    assert "cpu-sysbench / cpu events / host: the unit or direction changed" in (
        capsys.readouterr().err
    )


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
    assert g.summary["cpu"]["docker-bridge"].cost == pytest.approx((0.5 * 0.25) ** 0.5)
    assert g.summary["network"]["docker-bridge"].cost == pytest.approx(2.0)


def test_real_unchanged_runs_pass_the_gate(tmp_path: Path) -> None:
    # Six real quick runs of this machine, nothing changed: no pair differs with a single
    # baseline (family noise floors), and none fails against a history of the other five.
    # (In-sample for the floors, which were set from these runs; tests/test_gate_sim.py is the
    # out-of-sample check, on 2000 simulated nights.) Against a history, one run is called
    # about 2x faster on docker-bridge sequential reads: that run really read twice as fast (its
    # rounds agree), a jump of the machine the other five runs never showed. It does not fail
    # the gate, which fails on regressions only.
    history = Path(__file__).parent / "data" / "history"
    runs = sorted(history.glob("*.json"))
    assert len(runs) == 6
    for run in runs:
        shutil.copy(run, tmp_path / run.name)  # reading writes a cache beside the run
    copies = sorted(tmp_path.glob("*.json"))
    loaded = {c: load_runs([c]) for c in copies}
    for i, base in enumerate(copies):
        for cur in copies[i + 1 :]:
            found = changes(Sides.of(loaded[base], loaded[cur]))
            assert len(found) > 100
            assert [c for c in found if c.regression or c.improvement] == []
    for cur in copies:
        found = changes(Sides.of(load_runs([c for c in copies if c != cur]), loaded[cur]))
        assert {c.history for c in found} == {5}
        assert [c for c in found if c.regression] == [], cur.name


def test_a_cell_is_never_coloured_against_its_own_figure() -> None:
    """One slower case (1.10x) and two undetermined ones that lean faster: the mean cost is
    below 1, so the cell carries no direction (and no colour), though its one finding is."""
    cost = math.exp((math.log(1.10) + 2 * math.log(0.90)) / 3)
    cell = SummaryCell(cost, ("a", "b", "c"), 3, (SLOWER, "undetermined", "undetermined"))
    assert cost < 1
    assert cell.direction == ""
    agreeing = SummaryCell(1.2, ("a", "b"), 2, (SLOWER, "undetermined"))
    assert agreeing.direction == SLOWER


SERVICES_RUNS = sorted((Path(__file__).parent / "data" / "history-services").glob("*.json"))


def _twice_as_bad(source: Path, dest: Path) -> Path:
    """A real services run with every figure made 2x worse in its own direction."""
    doc = json.loads(source.read_text())
    for b in doc["benchmarks"]:
        for s in b["extra_info"]["samples"]:
            if s["unit"] != "count":
                s["value"] = s["value"] / 2 if s["higher_is_better"] else s["value"] * 2
    doc["machine_info"]["triptych"]["session"] = "20261201000000-bad0bd"
    dest.write_text(json.dumps(doc))
    return dest


def test_services_twice_as_slow_fail_the_gate_against_their_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Five real unchanged services runs as the history: the sixth passes, and the sixth with
    every service figure 2x worse fails, in every service."""
    history = tmp_path / "history"
    history.mkdir()
    for run in SERVICES_RUNS[:5]:
        shutil.copy(run, history / run.name)
    same = tmp_path / "0006_same.json"
    shutil.copy(SERVICES_RUNS[5], same)
    bad = _twice_as_bad(SERVICES_RUNS[5], tmp_path / "0006_bad.json")
    assert main(["compare", str(history), str(same)]) == 0
    capsys.readouterr()
    assert main(["compare", str(history), str(bad)]) == 1
    out = capsys.readouterr().out
    regressions = out.split("### Regressions")[1]
    for case in ("redis", "nginx", "postgres"):
        assert f"| {case} |" in regressions, (case, regressions[:3000])
    assert floor_of("services", "get rate") == pytest.approx(math.expm1(3 * math.sqrt(2) * 0.26))


def test_the_nightly_gate_calibrates_until_it_has_enough_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fewer earlier runs than --calibrate (5 by default): the comparison is printed, the night
    is not a pass (2); a regression found all the same is suspected (2), and fails (1) once the
    next night confirms it."""
    results = tmp_path / "results"
    results.mkdir()
    for i in range(3):
        write_run(results / f"000{i + 1}_n.json", ["host", "docker-bridge"], 7,
                  noisy({}, seed=i), date=f"2026-11-2{i}T02:00:00")  # fmt: skip
    assert main(["compare", str(results), "--last", "7"]) == 2
    out = capsys.readouterr().out
    assert "calibrating: 2 of 5 earlier runs in this environment and scenario" in out
    assert "**0 regression(s)**" in out
    assert main(["compare", str(results), "--last", "7", "--calibrate", "2"]) == 0
    assert "calibrating" not in capsys.readouterr().out
    write_run(results / "0004_n.json", ["host", "docker-bridge"], 7,
              noisy({"docker-bridge": 3.0}, seed=9), date="2026-11-24T02:00:00")  # fmt: skip
    assert main(["compare", str(results), "--last", "7"]) == 2
    out = capsys.readouterr().out
    assert "calibrating: 3 of 5" in out
    assert "### Regressions" in out
    assert "regression(s) suspected" in out
    # A second night as bad confirms it: that fails, calibrating or not.
    write_run(results / "0005_n.json", ["host", "docker-bridge"], 7,
              noisy({"docker-bridge": 3.0}, seed=10), date="2026-11-25T02:00:00")  # fmt: skip
    assert main(["compare", str(results), "--last", "7"]) == 1
    assert "confirmed on 0005\\_n" in capsys.readouterr().out
