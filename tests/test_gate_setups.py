"""The gate against one baseline run whose cases ran on fresh set-ups (gate.stats.setup_tests).

On real runs: the nested study's three unchanged runs (tests/data/nested: 3 set-ups x 3 rounds,
host and both container platforms) pass against each other, and a copy of one with every service
figure made 2x worse fails against another (with one set-up a side the services' floor, 1.89x on
native platforms, leaves a 2x change no room to clear the noise).

By simulation, through the same arithmetic: nights drawn from the round, set-up and run
components measured per metric in those runs, with Gaussian and Student-t(3) set-up and run
effects, show how often an unchanged pair of runs fails and how often a planted 2x is caught.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.gate_sim import worse_copy
from triptych.cli import main
from triptych.families import beyond_setups, noise_group
from triptych.gate.compare import FLOOR, SETUPS, Sides, changes, like_ids
from triptych.gate.stats import Rounds, regressions, setup_tests
from triptych.results.labels import labelled
from triptych.results.load import load_runs
from triptych.verdict.components import nested

NESTED = Path(__file__).parent / "data" / "nested"
NIGHTS = 2000


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Copies of the study's runs (reading them writes a cache beside them)."""
    where = tmp_path_factory.mktemp("nested-gate")
    for run in sorted(NESTED.glob("*.json")):
        shutil.copy(run, where / run.name)
    return sorted(where.glob("*.json"))


def test_unchanged_reruns_pass_on_their_set_ups(
    runs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for base, cur in permutations(runs, 2):
        assert main(["compare", str(base), str(cur)]) == 0, (base.name, cur.name)
        out = capsys.readouterr().out
        assert "**0 regression(s)**" in out
        assert "were decided on their set-up means" in out
        assert "conservative noise floor" not in out  # every metric had 3 set-ups a side
        caught = _caught(out)
        assert set(caught) == {"cpu", "memory", "disk", "network", "services"}
        # sysbench's CPU figures move least in the study; memory's random access most.
        assert caught["cpu"] < caught["memory"]
        assert caught["cpu"] < 1.5


def _caught(out: str) -> dict[str, float]:
    """The summary's "could have caught" medians, per family."""
    line = next(x for x in out.splitlines() if x.startswith("**What it could have caught**"))
    found = re.findall(r"(\w+) (>= )?([0-9.]+)x \(", line.split("):", 1)[1])
    return {family: float(x) for family, _, x in found}


def test_a_service_twice_as_bad_fails_against_one_baseline(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worse = worse_copy(
        runs[0], tmp_path / "0009_worse.json", 2.0, lambda info: info["family"] == "services"
    )
    assert main(["compare", str(runs[1]), str(worse)]) == 1
    assert "| redis | get rate | host |" in capsys.readouterr().out.split("### Regressions")[1]
    found = changes(Sides.of(load_runs([runs[1]]), load_runs([worse])))
    assert {c.decided_by for c in found} == {SETUPS}
    regressed = {(c.case, c.metric, c.platform) for c in found if c.regression}
    # Every throughput the services measured, on every column; nothing of another family.
    rates = {(c.case, c.metric, c.platform) for c in found if c.unit == "requests/s"}
    assert len(rates) >= 8
    assert rates <= regressed
    assert {case for case, _, _ in regressed} == {"redis"}


def test_one_set_up_a_side_falls_back_to_the_floor(runs: list[Path], tmp_path: Path) -> None:
    """A run whose rounds all came from one set-up cannot show what a rerun re-draws."""
    data = json.loads(runs[0].read_text())
    for bench in data["benchmarks"]:
        for rnd in bench["extra_info"]["measured"]:
            rnd["setup"] = 0
        bench["extra_info"]["setups"] = 1
    one = tmp_path / "0008_one.json"
    one.write_text(json.dumps(data))
    found = changes(Sides.of(load_runs([one]), load_runs([runs[1]])))
    assert {c.decided_by for c in found} == {FLOOR}
    assert all(c.basis.endswith("rounds, floor") for c in found)
    # Against a floor, nothing under it could have been caught.
    assert all(
        c.effect.detectable > 1 + c.margin for c in found if c.effect.verdict != "untestable"
    )


def test_setup_tests_by_hand() -> None:
    """Two metrics in groups of their own (no moderation): set-up means 1, 3 (current) and
    0, 2 (baseline) on the log scale; pooled variance (2 + 2) / 2 = 2; se^2 = 2 (1/2 + 1/2)
    + 2 * 0.1^2 = 2.02 on 2 degrees of freedom. Lower is better for the first, higher for the
    second (its cost has the other sign)."""
    # Set-up means, (metrics, set-ups); their rounds' variance plays no part.
    cur = Rounds(np.array([[1.0, 3.0]] * 2), np.full((2, 2), np.nan), np.full((2, 2), 3))
    bas = Rounds(np.array([[0.0, 2.0]] * 2), np.full((2, 2), np.nan), np.full((2, 2), 3))
    t = setup_tests(
        cur,
        bas,
        np.array([0, 1]),
        np.array([False, True]),
        np.array([0.05, 0.05]),
        np.array([0.1, 0.1]),
    )
    assert t.log_cost.tolist() == [1.0, -1.0]
    assert t.se == pytest.approx([math.sqrt(2.02)] * 2)
    assert t.df.tolist() == [2.0, 2.0]
    assert t.n_current.tolist() == [2, 2]
    assert t.n_baseline.tolist() == [2, 2]


# ---- simulation from the components the study measured ----


@dataclass(frozen=True)
class Measured:
    """Per metric of the study (every metric, not only primaries): log-scale components, and
    where it was measured (its case and column, and whether it is its case's headline)."""

    family: list[str]
    metric: list[str]
    higher_is_better: np.ndarray
    round_sd: np.ndarray
    setup_sd: np.ndarray
    run_sd: np.ndarray
    case: list[str]
    label: list[str]
    headline: np.ndarray

    def groups(self) -> np.ndarray:
        names = [
            noise_group(f, m, False).name for f, m in zip(self.family, self.metric, strict=True)
        ]
        return np.array([sorted(set(names)).index(n) for n in names], dtype=int)

    def like(self) -> np.ndarray:
        """Each metric's like group, as the gate numbers them (the same metric of the same case
        on the other columns; the study's columns are all native)."""
        return like_ids(
            [
                ((c, m, lab), False)
                for c, m, lab in zip(self.case, self.metric, self.label, strict=True)
            ]
        )

    def beyond(self) -> np.ndarray:
        pairs = zip(self.family, self.metric, strict=True)
        return np.array([beyond_setups(f, m, False) for f, m in pairs])


@pytest.fixture(scope="module")
def measured(runs: list[Path]) -> Measured:
    return measure(runs)


def measure(runs: list[Path]) -> Measured:
    """Every metric's components in the study's runs, read through the gate's own loading."""
    df = labelled(load_runs(runs).samples)
    fam: list[str] = []
    met: list[str] = []
    hib: list[bool] = []
    sds: list[tuple[float, float, float]] = []
    cases: list[str] = []
    labels: list[str] = []
    heads: list[bool] = []
    for (family, case, metric, label, h), g in df.groupby(
        ["family", "case", "metric", "label", "higher_is_better"], observed=True
    ):
        if str(g.unit.iloc[0]) == "count" or (g.value <= 0).any():
            continue
        cube = np.log(g.sort_values(["run", "setup", "round"]).value.to_numpy(dtype=float))
        rv, sv, uv = nested(cube.reshape(3, 3, 3))
        fam.append(str(family))
        met.append(str(metric))
        hib.append(bool(h))
        sds.append((math.sqrt(rv), math.sqrt(sv), math.sqrt(uv)))
        cases.append(str(case))
        labels.append(str(label))
        heads.append(str(metric) == str(g.primary_metric.iloc[0]))
    r, s, u = np.array(sds).T
    return Measured(fam, met, np.array(hib), r, s, u, cases, labels, np.array(heads))


Effects = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def gaussian(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def t3(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Student-t(3) with unit standard deviation: heavy tails, the same spread."""
    return rng.standard_t(3, shape) / math.sqrt(3)


def night(
    m: Measured,
    rng: np.random.Generator,
    effects: Effects,
    run_sd: np.ndarray,
    shape: tuple[int, int, int] = (NIGHTS, 3, 3),
) -> np.ndarray:
    """One run's values (nights, metrics, set-ups, rounds; `shape` gives nights, set-ups and
    rounds, the study's 3 x 3 by default): run, set-up and round terms."""
    k, (nights, setups, each) = len(m.family), shape
    run = effects(rng, (nights, k, 1, 1)) * run_sd[:, None, None]
    setup = effects(rng, (nights, k, setups, 1)) * m.setup_sd[:, None, None]
    rounds = rng.standard_normal((nights, k, setups, each)) * m.round_sd[:, None, None]
    values: np.ndarray = 1000 * np.exp(run + setup + rounds)
    return values


def gate(m: Measured, cur: np.ndarray, base: np.ndarray) -> np.ndarray:
    return regressions(
        setup_tests(
            Rounds.of(cur),
            Rounds.of(base),
            m.groups(),
            m.higher_is_better,
            np.full(len(m.family), 0.05),
            m.beyond(),
            m.like(),
        )
    )


@pytest.mark.parametrize(
    ("effects", "declared"),
    [(gaussian, False), (gaussian, True), (t3, False)],
    ids=["gaussian", "gaussian-at-declared", "t3"],
)
def test_unchanged_pairs_of_runs_rarely_fail(
    measured: Measured, effects: Effects, declared: bool
) -> None:
    """The run term drawn as measured, or at the declared figure beyond fresh set-ups (the
    largest of the family's, for every metric: a stress). Heavy-tailed run terms at the declared
    figure (every metric at once) fail about 8% of unchanged pairs (the note says so)."""
    rng = np.random.default_rng(11)
    run_sd = np.maximum(measured.run_sd, measured.beyond()) if declared else measured.run_sd
    failed = gate(
        measured, night(measured, rng, effects, run_sd), night(measured, rng, effects, run_sd)
    )
    assert failed.any(axis=-1).mean() <= 0.05


def test_the_declared_rerun_term_covers_what_the_study_measured(measured: Measured) -> None:
    assert (measured.run_sd <= measured.beyond() + 1e-9).all()


@pytest.mark.parametrize("effects", [gaussian, t3], ids=["gaussian", "t3"])
def test_a_planted_2x_on_services_is_caught(measured: Measured, effects: Effects) -> None:
    rng = np.random.default_rng(12)
    base = night(measured, rng, effects, measured.run_sd)
    cur = night(measured, rng, effects, measured.run_sd)
    services = np.array([f == "services" for f in measured.family])
    rates = services & measured.higher_is_better
    factor = np.where(services, np.where(measured.higher_is_better, 0.5, 2.0), 1.0)
    found = gate(measured, cur * factor[:, None, None], base)
    assert found[:, rates].mean() >= 0.95
    assert found[:, ~services].any(axis=-1).mean() <= 0.05


def test_the_study_reads_as_balanced(measured: Measured) -> None:
    frame = pd.DataFrame({"family": measured.family})
    assert set(frame.family) == {"cpu", "memory", "disk", "network", "services"}
    assert len(measured.family) >= 20
