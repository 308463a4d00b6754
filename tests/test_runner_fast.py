"""The runner, the warm-up, adaptive rounds, passes, the journal and the pool, through the real
plugin and pytest-benchmark on the fake platform (tests/fake_platform.py): no engine, no tool,
each run a fraction of a second."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fake_platform import FAKE, FakePlatform, FakeRate, declared
from triptych.cli import main
from triptych.platforms.catalog import KINDS
from triptych.report.render import render
from triptych.results.load import load_runs
from triptych.verdict.nested import compare_setups, family_default
from triptych.workloads.registry import WORKLOADS

ROOT = Path(__file__).parent.parent


def scenario(rounds: int = 3, extra: str = "", case: str = "") -> str:
    return (
        f'[scenario]\nname = "f"\nplatforms = ["fake"]\nrounds = {rounds}\nduration = 1\n{extra}\n'
        f'[[case]]\nname = "rate"\nworkload = "fake-rate"\n{case}\n'
    )


def run(pytester: pytest.Pytester, text: str, *options: str) -> pytest.RunResult:
    shutil.copy(ROOT / "bench" / "test_triptych.py", pytester.path / "test_triptych.py")
    (pytester.path / "s.toml").write_text(text)
    return pytester.runpytest_inprocess(
        "--benchmark-save=fake",
        "--triptych-scenarios=s.toml",
        f"--triptych-scratch={pytester.path}/scratch",
        "-p",
        "no:cacheprovider",
        *options,
    )


def saved(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    (path,) = (pytester.path / ".benchmarks").rglob("*.json")
    return [b for b in json.loads(path.read_text())["benchmarks"]]


def test_rounds_warm_up_and_stats(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with declared(monkeypatch, [50.0, 100.0, 200.0, 400.0]):
        run(pytester, scenario()).assert_outcomes(passed=1)
    (bench,) = saved(pytester)
    info = bench["extra_info"]
    # The warm-up printed the first value and was kept apart; the rounds printed the next three.
    assert [s["value"] for s in info["warmup_samples"]] == [50.0]
    rounds = [(r["number"], r["pass_index"], r["samples"][0]["value"]) for r in info["measured"]]
    assert rounds == [(0, 0, 100.0), (1, 0, 200.0), (2, 0, 400.0)]
    # The warm-up ran at the warm-up's length (1 s: the scenario's default), the rounds at theirs.
    assert [spec.duration for spec in FakeRate.printed] == [1.0, 1.0, 1.0, 1.0]
    # pytest-benchmark's stats are seconds per unit of the rate: 1/100, 1/200, 1/400.
    assert bench["stats"]["rounds"] == 3
    assert bench["stats"]["min"] == pytest.approx(1 / 400)
    assert bench["stats"]["max"] == pytest.approx(1 / 100)
    assert info["stats_measure"].startswith("seconds per unit of fake rate")
    assert FakePlatform.events == ["start", "stop"]


def test_no_warm_up_when_the_scenario_says_none(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with declared(monkeypatch, [10.0]):
        run(pytester, scenario(extra="warmup = 0")).assert_outcomes(passed=1)
    (bench,) = saved(pytester)
    assert bench["extra_info"]["warmup_samples"] == []
    assert len(FakeRate.printed) == 3


@pytest.mark.parametrize(
    ("values", "reached", "converged"),
    [
        ([100.0], 3, True),  # no spread: the interval is narrow at the minimum
        ([100.0, 300.0], 6, False),  # a 3x swing every round: never narrow, stops at the maximum
    ],
)
def test_adaptive_rounds_stop_when_narrow_or_at_the_maximum(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    values: list[float],
    reached: int,
    converged: bool,
) -> None:
    policy = "max_rounds = 6\ntarget_ci = 0.05\nwarmup = 0"
    with declared(monkeypatch, values):
        run(pytester, scenario(extra=policy)).assert_outcomes(passed=1)
    (bench,) = saved(pytester)
    info = bench["extra_info"]
    assert info["rounds"] == bench["stats"]["rounds"] == len(info["measured"]) == reached
    assert info["rounds_policy"]["converged"] is converged


def test_adaptive_rounds_in_set_ups_stop_against_the_set_up_spread(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """max_rounds alone: a set-up stops once its rounds' standard error is at most half its
    family's set-up spread (cpu: 0.08). By hand, rates 100 and 110 alternate (log gap
    d = 0.0953): two rounds give d / 2 = 0.048 > 0.04, three give d / 3 = 0.032: three rounds
    in each of two set-ups, numbered apart (the second from max_rounds = 6)."""
    policy = "setups = 2\nmax_rounds = 6\nwarmup = 0"
    with declared(monkeypatch, [100.0, 110.0]):
        run(pytester, scenario(rounds=2, extra=policy)).assert_outcomes(passed=2)
    infos = sorted(
        (b["extra_info"] for b in saved(pytester)), key=lambda i: i["measured"][0]["setup"]
    )
    assert [[r["number"] for r in i["measured"]] for i in infos] == [[0, 1, 2], [6, 7, 8]]
    assert [[r["setup"] for r in i["measured"]] for i in infos] == [[0, 0, 0], [1, 1, 1]]
    assert all(i["rounds_policy"]["converged"] for i in infos)
    assert [i["rounds"] for i in infos] == [3, 3]


def test_passes_number_rounds_across_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with declared(monkeypatch, [1.0, 2.0, 3.0]):
        run(pytester, scenario(extra="passes = 2\nwarmup = 0")).assert_outcomes(passed=2)
    records = sorted((b["extra_info"] for b in saved(pytester)), key=lambda i: i["pass_index"])
    got = [(r["number"], r["pass_index"]) for i in records for r in i["measured"]]
    assert got == [(0, 0), (1, 0), (2, 1)]
    runs = load_runs([pytester.path / ".benchmarks"])
    assert sorted(runs.samples["pass"].tolist()) == [0, 0, 1]
    # One platform for both passes: started once, stopped once.
    assert FakePlatform.events == ["start", "stop"]


def test_a_round_that_fails_keeps_the_rounds_before_it_and_is_reported_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Command 1 is the warm-up's; 2 and 3 are rounds; the third round (command 4) fails.
    with declared(monkeypatch, [7.0], fail_at="command:4"):
        result = run(pytester, scenario())
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert out.count("told to fail at command 4") >= 1
    assert "ERROR" not in out  # one case, reported once: never also as an error
    (journal,) = (pytester.path / ".benchmarks" / "journal").glob("*.jsonl")
    cases = [json.loads(line) for line in journal.read_text().splitlines()]
    (case,) = [c for c in cases if c["type"] == "case"]
    assert case["status"] == "failed"
    assert case["error"] == "told to fail at command 4"
    assert [r["number"] for r in case["extra_info"]["measured"]] == [0, 1]


def test_a_platform_that_cannot_start_skips_its_cases_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    two = scenario(case='\n[[case]]\nname = "again"\nworkload = "fake-rate"\n')
    with declared(monkeypatch, [1.0], fail_at="start"):
        result = run(pytester, two, "-rs")
    result.assert_outcomes(skipped=2)
    assert "platform fake unavailable: told to fail at start" in result.stdout.str()
    # Tried once, not once per case; stopped after its failed start.
    assert FakePlatform.events == ["start", "stop"]
    with declared(monkeypatch, [1.0], fail_at="start"):
        required = run(pytester, two, "--triptych-require-platforms=fake")
    required.assert_outcomes(errors=2)  # failed in the platform fixture: a setup error
    assert "required platform fake is unavailable: told to fail at start" in required.stdout.str()


def test_what_a_platform_could_not_remove_is_named_and_nothing_is_lost(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with declared(monkeypatch, [5.0], fail_at="stop"):
        result = run(pytester, scenario(extra="warmup = 0"), "-W", "default")
    result.assert_outcomes(passed=1)
    assert "fake resource (told to stay)" in result.stdout.str()
    (bench,) = saved(pytester)
    assert len(bench["extra_info"]["measured"]) == 3


def test_each_set_up_starts_the_platform_afresh(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with declared(monkeypatch, [1.0, 2.0]):
        run(pytester, scenario(rounds=2, extra="setups = 2\nwarmup = 0")).assert_outcomes(passed=2)
    records = sorted(
        (b["extra_info"] for b in saved(pytester)), key=lambda i: i["measured"][0]["setup"]
    )
    got = [(r["number"], r["setup"], r["pass_index"]) for i in records for r in i["measured"]]
    assert got == [(0, 0, 0), (1, 0, 0), (2, 1, 0), (3, 1, 0)]
    assert {i["setups"] for i in records} == {2}
    # A fresh platform per set-up: the first stopped before the second started.
    assert FakePlatform.events == ["start", "stop", "start", "stop"]
    runs = load_runs([pytester.path / ".benchmarks"])
    assert sorted(runs.samples.setup.tolist()) == [0, 0, 1, 1]


def test_each_record_saves_what_its_platform_is_and_the_report_says_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The report's description of a column is saved data: the catalogue's words, stored with
    every record when it was measured, and escaped when a saved run was edited to hold markup."""
    with declared(monkeypatch, [100.0] * 4):
        run(pytester, scenario()).assert_outcomes(passed=1)
    (bench,) = saved(pytester)
    meta = bench["extra_info"]["platform_metadata"]
    assert meta["description"] == "a stand-in that runs commands on the host, for tests"
    (path,) = (pytester.path / ".benchmarks").rglob("*.json")
    doc = json.loads(path.read_text())
    doc["benchmarks"][0]["extra_info"]["platform_metadata"]["description"] = "<b>x</b> & y"
    edited = tmp_path / "0001_edited.json"
    edited.write_text(json.dumps(doc))
    html = render(load_runs([path]))
    assert "<b>fake</b>: a stand-in that runs commands on the host, for tests" in html
    assert "description=" not in html  # not repeated among the platform's metadata
    assert "<b>fake</b>: &lt;b&gt;x&lt;/b&gt; &amp; y" in render(load_runs([edited]))


def _sequential(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, values: list[float]
) -> pytest.RunResult:
    text = (
        '[scenario]\nname = "f"\nplatforms = ["host", "fake"]\nrounds = 3\nduration = 1\n'
        'warmup = 0\nsetups = 1\nmax_setups = 3\n[[case]]\nname = "rate"\nworkload = "fake-rate"\n'
    )
    with declared(monkeypatch, values):
        return run(pytester, text, "--triptych-order=scenario", "-rs")


def test_sequential_set_ups_stop_where_the_verdict_is_decided(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The host prints about 100 a round, the fake about 50: 2x slower, plain after one set-up
    # even with cpu's borrowed set-up spread, so neither runs set-ups 2 or 3.
    result = _sequential(pytester, monkeypatch, [100.0, 101.0, 99.0, 50.0, 50.5, 49.5])
    result.assert_outcomes(passed=2, skipped=4)
    out = result.stdout.str()
    assert "sequential set-ups: fake's verdict on rate needs no set-up 2 of up to 3" in out
    assert "no column of rate needs set-up 3 of up to 3, so neither does its baseline" in out
    assert FakePlatform.events == ["start", "stop"]  # a skipped set-up starts nothing
    assert {b["extra_info"]["looks"] for b in saved(pytester)} == {3}
    samples = load_runs([pytester.path / ".benchmarks"]).samples
    assert set(samples.looks) == {3}
    assert sorted(set(samples.setup)) == [0]
    # The report's verdict is taken at a third of its error rate: its interval is the
    # (1 - 0.05 / 3) interval, wider than a fixed design's of the same rounds.
    data = pytester.path / "v.json"
    assert main(["report", str(pytester.path / ".benchmarks"), "-o", str(pytester.path / "r.html"),
                 "--json", str(data)]) == 0  # fmt: skip
    (cell,) = [c for c in json.loads(data.read_text())["groups"][0]["cells"]
               if c["column"]["platform"] == "fake" and c["headline"]]  # fmt: skip
    assert cell["looks"] == 3
    assert cell["verdict"] == "slower"
    fixed = compare_setups([np.array([50.0, 50.5, 49.5])], [np.array([100.0, 101.0, 99.0])],
                           True, family_default("cpu"))  # fmt: skip
    assert cell["high"] - cell["low"] > fixed.interval()[1] - fixed.interval()[0]


def test_sequential_set_ups_run_on_while_the_verdict_is_open(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rounds spread 0.38 in logs, a 1.16x gap: open after one set-up, so both run a second.
    # Every set-up prints the same rounds, so two set-ups agree exactly and decide it.
    result = _sequential(pytester, monkeypatch, [100.0, 150.0, 70.0, 90.0, 130.0, 60.0])
    result.assert_outcomes(passed=4, skipped=2)
    assert "needs no set-up 3 of up to 3" in result.stdout.str()
    setups = sorted((b["extra_info"]["platform"], b["extra_info"]["measured"][0]["setup"])
                    for b in saved(pytester))  # fmt: skip
    assert setups == [("fake", 0), ("fake", 1), ("host", 0), ("host", 1)]


class FakeLifecycle(FakeRate):
    """The fake workload as one that starts instances of its own: the host runs none."""

    name = "fake-lifecycle"
    target = "lifecycle"


def test_a_case_the_host_cannot_run_takes_its_set_ups_alone_and_no_more(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Startup and density have no host column, so no verdict to decide: the nightly's set-ups
    # 3 and 4 of them once failed with StopIteration looking for the host's column.
    text = (
        '[scenario]\nname = "f"\nplatforms = ["host", "fake"]\nrounds = 2\nduration = 1\n'
        'warmup = 0\nsetups = 2\nmax_setups = 4\n[[case]]\nname = "starts"\n'
        'workload = "fake-lifecycle"\n'
    )
    with declared(monkeypatch, [100.0, 150.0, 70.0, 90.0]):
        monkeypatch.setitem(WORKLOADS, FakeLifecycle.name, FakeLifecycle)
        monkeypatch.setitem(KINDS, FAKE.name, dataclasses.replace(FAKE, cold_starts=True))
        result = run(pytester, text, "--triptych-order=scenario", "-rs")
    result.assert_outcomes(passed=2, skipped=2)
    out = result.stdout.str()
    assert "starts has no host column to decide a verdict against, so it runs its 2" in out
    assert sorted(b["extra_info"]["measured"][0]["setup"] for b in saved(pytester)) == [0, 1]
    assert FakePlatform.events == ["start", "stop", "start", "stop"]  # two set-ups, no more


def test_the_terminal_borrows_the_machines_own_noise_as_the_report_does(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five earlier runs of the scenario saved beside it: the sixth's one-set-up verdicts, in
    the terminal and in the report alike, rest on the spread those runs showed, not on the
    family's default; the terminal says so."""
    text = (
        '[scenario]\nname = "f"\nplatforms = ["host", "fake"]\nrounds = 3\nduration = 1\n'
        'warmup = 0\n[[case]]\nname = "rate"\nworkload = "fake-rate"\n'
    )
    shifts = [1.0, 1.02, 0.99, 1.01, 0.98, 1.0]  # each run's own level, a 1-2% run effect
    outs = []
    for shift in shifts:
        host = [100.0 * shift * f for f in (1.0, 1.01, 0.99)]
        fake = [80.0 * shift * f for f in (1.0, 1.01, 0.99)]
        with declared(monkeypatch, host + fake):
            result = run(pytester, text, "--triptych-order=scenario")
        result.assert_outcomes(passed=2)
        outs.append(result.stdout.str())
    assert "documented default" in outs[4]  # four earlier runs: too few
    last = outs[5]
    assert "intervals include the spread this machine's own earlier runs" in last
    assert "documented default" not in last
    data = pytester.path / "v.json"
    assert main(["report", str(pytester.path / ".benchmarks"), "-o", str(pytester.path / "r.html"),
                 "--json", str(data)]) == 0  # fmt: skip
    (cell,) = [c for c in json.loads(data.read_text())["groups"][0]["cells"]
               if c["column"]["platform"] == "fake" and c["headline"]]  # fmt: skip
    assert cell["borrowed"] == "history"
    assert cell["verdict"] == "slower"  # 1.25x, where the cpu default (8%) leaves it open
    (line,) = [
        x for x in last.splitlines() if x.startswith("rate ") and "fake" in x and "CPU-s" not in x
    ]
    assert cell["said"] in line
    default = compare_setups([np.array([80.0, 80.8, 79.2])], [np.array([100.0, 101.0, 99.0])],
                             True, family_default("cpu"))  # fmt: skip
    assert default.interval()[1] / default.interval()[0] > cell["high"] / cell["low"]
