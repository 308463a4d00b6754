"""Simulated nights for the gate, built from the spreads of real unchanged runs of this machine.

Each metric's log value in round j of run r is  mu + b_r + e_rj : b_r ~ N(0, between) is the
run-to-run part (a new boot, another page cache, other neighbours), e_rj ~ N(0, within) the
round-to-round part. Both are estimated per metric from the committed real runs
(tests/data/history): `within` from the rounds inside each run, `between` from the spread of the
run means beyond what `within` explains.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from triptych.cli import main
from triptych.families import beyond_setups, night_shared
from triptych.gate import changepoint
from triptych.gate import series as gate_series
from triptych.gate.compare import DEFAULT_THRESHOLD, floor_of, like_ids, noise_group
from triptych.gate.metric_series import Key, series
from triptych.gate.stats import Rounds, Tests, gate_tests, regressions, rerun_redraws
from triptych.results.load import load_runs

HISTORY = Path(__file__).parent / "data" / "history"
# Six unchanged runs of the services cases alone (their README says how they were taken).
SERVICES_HISTORY = Path(__file__).parent / "data" / "history-services"


@dataclass(frozen=True)
class Spreads:
    """Per metric (same order everywhere): its key, family, direction and log-scale spreads."""

    keys: list[Key]
    family: list[str]
    higher_is_better: np.ndarray
    within: np.ndarray
    between: np.ndarray

    def run_to_run(self, rounds: int) -> np.ndarray:
        """The spread of one run's mean at this many rounds: what a history shows."""
        return np.sqrt(self.between**2 + self.within**2 / rounds)

    def group_ids(self) -> np.ndarray:
        """The noise group of each metric, as the gate numbers them."""
        groups = [
            noise_group(f, k[1], emulated(k)) for f, k in zip(self.family, self.keys, strict=True)
        ]
        return np.array([sorted(set(groups)).index(g) for g in groups], dtype=int)

    def like_ids(self) -> np.ndarray:
        """The like group of each metric, as the gate numbers them."""
        return like_ids([(k, emulated(k)) for k in self.keys])


def emulated(key: Key) -> bool:
    """Whether a metric's column was measured under emulation (its label says so)."""
    return "[TCG emulation]" in key[2]


def measured_spreads(paths: list[Path] | None = None) -> Spreads:
    """Per-metric spreads of the real unchanged runs, read through the gate's own loading."""
    found = series(load_runs(paths or sorted(HISTORY.glob("*.json"))))
    keys, family, hib, within, between = [], [], [], [], []
    for key, s in sorted(found.items()):
        runs = [np.log(v) for v in s.runs.values() if v.size > 1 and (v > 0).all()]
        if s.unit == "count" or len(runs) < 2:
            continue
        w2 = float(np.mean([r.var(ddof=1) for r in runs]))
        n = float(np.mean([r.size for r in runs]))
        b2 = float(np.var([r.mean() for r in runs], ddof=1)) - w2 / n
        keys.append(key)
        family.append(s.family)
        hib.append(s.higher_is_better)
        within.append(math.sqrt(w2))
        between.append(math.sqrt(max(b2, 0.0)))
    return Spreads(keys, family, np.array(hib), np.array(within), np.array(between))


def simulate_runs(
    spreads: Spreads,
    rng: np.random.Generator,
    nights: int,
    runs: int,
    rounds: int,
    df: float | None = None,
) -> np.ndarray:
    """Values of shape (nights, metrics, runs, rounds) around 1000, unchanged; run effects
    Gaussian, or Student-t with `df` degrees of freedom scaled to the same spread."""
    m = len(spreads.keys)
    if df is None:
        unit = rng.standard_normal((nights, m, runs, 1))
    else:
        unit = rng.standard_t(df, (nights, m, runs, 1)) / math.sqrt(df / (df - 2))
    b = unit * spreads.between[:, None, None]
    e = rng.standard_normal((nights, m, runs, rounds)) * spreads.within[:, None, None]
    values: np.ndarray = 1000 * np.exp(b + e)
    return values


def night_share(spreads: Spreads) -> np.ndarray:
    """Per metric, the part of its run-to-run spread a rerun the same night shares (what fresh
    set-ups cannot re-draw: families.beyond_setups, the nested study's run component; under
    emulation, and where unmeasured, all of it), at most the spread itself."""
    beyond = np.array(
        [
            beyond_setups(f, k[1], emulated(k))
            for f, k in zip(spreads.family, spreads.keys, strict=True)
        ]
    )
    shared: np.ndarray = np.minimum(beyond, spreads.between)
    return shared


def same_night(
    spreads: Spreads, rng: np.random.Generator, nights: int, rounds: int, df: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A night's run and its rerun, each of shape (nights, metrics, 1, rounds): one night effect
    shared by both, a set-up effect each (the rest of the run-to-run spread), rounds each; the
    night and set-up effects Gaussian or Student-t(df) scaled to the same spread."""
    m = len(spreads.keys)
    shared = night_share(spreads)
    own = np.sqrt(np.maximum(spreads.between**2 - shared**2, 0.0))

    def effect(shape: tuple[int, ...]) -> np.ndarray:
        unit: np.ndarray = (
            rng.standard_normal(shape)
            if df is None
            else rng.standard_t(df, shape) / math.sqrt(df / (df - 2))
        )
        return unit

    n = effect((nights, m, 1, 1)) * shared[:, None, None]
    out = []
    for _ in range(2):
        b = n + effect((nights, m, 1, 1)) * own[:, None, None]
        e = rng.standard_normal((nights, m, 1, rounds)) * spreads.within[:, None, None]
        out.append(1000 * np.exp(b + e))
    return out[0], out[1]


def worse(spreads: Spreads, values: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """The values with each metric made `cost` times worse (cost per metric, 1: unchanged):
    slower means less of a higher-is-better metric, more of a lower-is-better one."""
    factor = np.where(spreads.higher_is_better, 1 / cost, cost)
    return values * factor[:, None, None]


def worse_copy(
    src: Path, dst: Path, factor: float, chosen: Callable[[dict[str, Any]], bool]
) -> Path:
    """A saved run with every figure of the chosen records (by their extra_info) `factor` times
    worse: less of what should be high, more of what should be low. Records of either shape:
    rounds ("measured") or, as version 2 kept them, flat samples."""
    data = json.loads(src.read_text())
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if not chosen(info):
            continue
        rounds = info.get("measured") or [{"samples": info["samples"]}]
        for sample in (s for rnd in rounds for s in rnd["samples"]):
            hib = sample["higher_is_better"]
            sample["value"] = sample["value"] / factor if hib else sample["value"] * factor
    dst.write_text(json.dumps(data))
    return dst


def gate(spreads: Spreads, current: np.ndarray, history: np.ndarray) -> np.ndarray:
    """The gate's regressions (nights, metrics), through the code `triptych compare` runs."""
    return regressions(night_tests(spreads, current, history))


def rerun_outcome(
    spreads: Spreads, rerun: np.ndarray, history: np.ndarray, flagged: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A rerun's decisions on the metrics its night flagged (each (nights, metrics)): which it
    confirms and which it reverts, as `triptych compare --confirming` and the record
    (gate.memory.tonight) decide them: of the flagged metrics a rerun re-draws enough of
    (stats.rerun_redraws) alone, the Holm family theirs, every metric's history still
    moderating the variances; the rest are left to the next night."""
    tests = night_tests(spreads, rerun, history)
    night = np.array(
        [
            night_shared(f, k[1], emulated(k))
            for f, k in zip(spreads.family, spreads.keys, strict=True)
        ]
    )
    decided = flagged & rerun_redraws(tests, night)
    found = regressions(replace(tests, log_cost=np.where(decided, tests.log_cost, np.nan)))
    back = decided & ~found & (tests.log_cost <= np.log1p(tests.margin))
    return found, back


def night_tests(spreads: Spreads, current: np.ndarray, history: np.ndarray) -> Tests:
    """Every metric's test of one night against its history (gate.stats.gate_tests)."""
    m = len(spreads.keys)
    return gate_tests(
        Rounds.of(current),
        Rounds.of(history),
        spreads.group_ids(),
        spreads.higher_is_better,
        np.full(m, DEFAULT_THRESHOLD),
        np.array(
            [
                floor_of(f, k[1], emulated(k))
                for f, k in zip(spreads.family, spreads.keys, strict=True)
            ]
        ),
        spreads.like_ids(),
    )


def false_alarms(spreads: Spreads, nights: int, rounds: int, history: int, seed: int) -> int:
    """How many unchanged nights fail the gate."""
    rng = np.random.default_rng(seed)
    failed = 0
    for start in range(0, nights, 500):  # in blocks, to bound memory
        n = min(500, nights - start)
        hist = simulate_runs(spreads, rng, n, history, rounds)
        cur = simulate_runs(spreads, rng, n, 1, rounds)
        failed += int(gate(spreads, cur, hist).any(axis=-1).sum())
    return failed


def power(
    spreads: Spreads, metric: int, cost: float, nights: int, rounds: int, history: int, seed: int
) -> float:
    """The share of nights on which a regression of `cost` in one metric fails the gate, named."""
    rng = np.random.default_rng(seed)
    hist = simulate_runs(spreads, rng, nights, history, rounds)
    costs = np.ones(len(spreads.keys))
    costs[metric] = cost
    cur = worse(spreads, simulate_runs(spreads, rng, nights, 1, rounds), costs)
    return float(gate(spreads, cur, hist)[:, metric].mean())


def copied_spreads(tmp_path_factory: pytest.TempPathFactory, folder: Path) -> Spreads:
    """The spreads of the real runs in folder, read from copies (reading writes a cache beside
    a run)."""
    where = tmp_path_factory.mktemp(folder.name)
    for run in sorted(folder.glob("*.json")):
        shutil.copy(run, where / run.name)
    return measured_spreads(sorted(where.glob("*.json")))


# A real run replayed as another night: sysbench in a container made slower.
CASE, PLATFORM = "cpu-sysbench", "docker-bridge"


def night(src: str, dst: Path, date: str, factor: float, engine: str = "") -> Path:
    """A copy of a real run taken on `date`, with sysbench's figures in a container `factor`
    times worse (less of what should be high, more of what should be low); given `engine`, at
    a new commit with that Docker engine (what the gate names as changed)."""
    doc = json.loads((HISTORY / src).read_text())
    doc["datetime"] = date
    tag = hashlib.sha256(dst.stem.encode()).hexdigest()[:6]
    doc["machine_info"]["triptych"]["session"] = f"{date[:10].replace('-', '')}020000-{tag}"
    if engine:
        doc["commit_info"]["id"] = "c0ffee" + "0" * 34
    for bench in doc["benchmarks"]:
        info = bench["extra_info"]
        if engine and "engine_version" in info["platform_metadata"]:
            info["platform_metadata"]["engine_version"] = engine
        if (info["case"], info["platform"]) != (CASE, PLATFORM):
            continue
        for s in info["samples"]:
            s["value"] = s["value"] / factor if s["higher_is_better"] else s["value"] * factor
    dst.write_text(json.dumps(doc))
    return dst


def copied_history(tmp_path: Path) -> Path:
    """A directory of copies of the six real unchanged runs (a history to gate against)."""
    where = tmp_path / "results"
    where.mkdir(mode=0o755)
    for run in sorted(HISTORY.glob("*.json")):
        shutil.copy(run, where / run.name)
    return where


def gate_last(results: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    """`triptych compare RESULTS --last 5 EXTRA...`: its exit code and everything it said."""
    code = main(["compare", str(results), "--last", "5", *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


def caught_within_three_nights(
    draw: Callable[[int], np.ndarray],
    shift: float,
    nights: int,
    family: int,
    trials: int,
    margin: float | None = None,
) -> float:
    """The share of `trials` series of a metric (log scale, lower is better), `nights` nights
    each as the series test reads them, drawn `draw(n)` n nights at a time, with a step of
    `shift` from the newest night on, that the test opens on that night, the next or the one
    after in a night whose Holm family holds `family` metrics: its p-value times the family
    under 5% (only this metric is drawn: Holm rejects it whenever it is under 5% / family, so
    the share is what the gate catches at least), and, given a `margin`, the step worse than
    1 + margin (the gate's threshold)."""
    hits = 0
    orders = changepoint.permutations_for(family)
    for _ in range(trials):
        x = draw(nights + 2)
        x[nights - 1 :] += shift  # from the first window's newest night on
        for first in range(3):
            found = changepoint.step(x[first : first + nights], False, permutations=orders)
            if found is None:
                continue
            cost = gate_series.oriented(found, False) if margin is not None else math.inf
            if gate_series.worse(found.p * family, cost, margin or 0.0):
                hits += 1
                break
    return hits / trials
