"""The gate against one baseline run when both runs stopped their set-ups sequentially
(verdict/sequential.py), by simulation through the plugin's Ledger and the gate's own tests.

A sequential run's set-up count per column is chosen against the host in that run (its verdict
was open, or not), not against the gate's baseline, so the gate's test of a column against its
own baseline is not widened for the looks. Whether it needs to be is what this checks: nights
drawn from every metric's round, set-up and run components in the nested study (as
tests/test_gate_setups.py draws them), each night's set-ups stopped by the Ledger on each
case's headline metric, and the two nights gated by gate.stats.setup_tests as `triptych compare
A B` gates them. Unchanged pairs fail no more often than under a fixed design of two or three
set-ups, and a planted 2x is caught more often than with two fixed ones (figures in the note).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.test_gate_setups import NESTED, Effects, Measured, gaussian, measure, night, t3
from triptych.gate.stats import Rounds, regressions, setup_tests
from triptych.results.costs import HOST
from triptych.verdict.nested import family_default
from triptych.verdict.sequential import Design, Ledger

NIGHTS = 1000
ROUNDS = 2  # default.toml's rounds per set-up
SEQUENTIAL, TWO, THREE = Design(2, 4), Design(2, 2), Design(3, 3)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Measured:
    return read_study(tmp_path_factory.mktemp("nested-sequential"))


def read_study(where: Path) -> Measured:
    """The study's runs, copied into `where` (reading them writes a cache), measured as
    tests/test_gate_setups.py measures them."""
    for run in sorted(NESTED.glob("*.json")):
        shutil.copy(run, where / run.name)
    return measure(sorted(where.glob("*.json")))


def draw(s: Measured, rng: np.random.Generator, effects: Effects, run_sd: np.ndarray) -> np.ndarray:
    """Nights of one run, every set-up a design could run: (nights, metrics, set-ups, rounds)."""
    return night(s, rng, effects, run_sd, (NIGHTS, SEQUENTIAL.max_setups, ROUNDS))


def setups_run(s: Measured, night: np.ndarray, design: Design) -> np.ndarray:
    """How many set-ups each metric's column ran in one night (metrics,), set-up by set-up as
    the plugin runs them: the Ledger holds each case's headline rounds and says which columns
    (and so the host) run the next one."""
    heads = {(s.case[i], s.label[i]): i for i in np.flatnonzero(s.headline)}
    book, ran = Ledger(), {key: 0 for key in heads}
    for setup in range(design.max_setups):
        for (case, label), i in heads.items():
            borrowed = family_default(s.family[i])
            if label == HOST:
                runs = book.baseline_runs(case, HOST, setup, borrowed, design)
            else:
                runs = book.column_runs(case, label, HOST, setup, borrowed, design)
            if runs:
                hib = bool(s.higher_is_better[i])
                book.add(case, label, setup, list(night[i, setup]), hib)
                ran[(case, label)] = setup + 1
    return np.array([ran[(c, lab)] for c, lab in zip(s.case, s.label, strict=True)])


def gated(s: Measured, cur: np.ndarray, base: np.ndarray, design: Design) -> np.ndarray:
    """Which metrics the gate calls regressed, each night (nights, metrics)."""

    def rounds(values: np.ndarray) -> Rounds:
        k = np.array([setups_run(s, night, design) for night in values])
        present = np.arange(values.shape[2]) < k[..., None]
        logs = np.log(values)
        return Rounds(
            np.where(present, logs.mean(axis=-1), np.nan),
            np.where(present, logs.var(axis=-1, ddof=1), np.nan),
            np.where(present, values.shape[-1], 0),
        )

    margin = np.full(len(s.family), 0.05)
    tests = setup_tests(rounds(cur), rounds(base), s.groups(), s.higher_is_better, margin,
                        s.beyond(), s.like())  # fmt: skip
    found: np.ndarray = regressions(tests)
    return found


def failing(s: Measured, effects: Effects, declared: bool, design: Design) -> float:
    """The share of unchanged pairs of nights that fail."""
    rng = np.random.default_rng(21)
    run_sd = np.maximum(s.run_sd, s.beyond()) if declared else s.run_sd
    cur, base = draw(s, rng, effects, run_sd), draw(s, rng, effects, run_sd)
    return float(gated(s, cur, base, design).any(axis=-1).mean())


@pytest.mark.parametrize(
    ("effects", "declared"),
    [(gaussian, False), (t3, False), (t3, True)],
    ids=["gaussian", "t3", "t3-at-declared"],
)
def test_sequential_set_ups_fail_no_more_unchanged_nights_than_fixed_ones(
    study: Measured, effects: Effects, declared: bool
) -> None:
    """The declared run term (every metric at its family's figure beyond fresh set-ups) with
    heavy tails is the stress tests/test_gate_setups.py notes at about 8% for any design;
    sequential stopping stays within what fixed designs give (2,000 nights: 8.2% against 7.2%
    with two fixed set-ups and 8.2% with three; without the stress 0.3% and 1.1%)."""
    sequential = failing(study, effects, declared, SEQUENTIAL)
    fixed = max(failing(study, effects, declared, d) for d in (TWO, THREE))
    # Within the fixed designs' range, give or take two binomial standard errors of a
    # difference of NIGHTS nights each.
    noise = 2 * math.sqrt(2 * fixed * (1 - fixed) / NIGHTS)
    assert sequential <= fixed + noise, (sequential, fixed)
    if not declared:
        assert sequential <= 0.05


def test_a_planted_2x_on_services_is_caught_more_often_than_with_two_fixed_set_ups(
    study: Measured,
) -> None:
    rng = np.random.default_rng(22)
    base, cur = draw(study, rng, gaussian, study.run_sd), draw(study, rng, gaussian, study.run_sd)
    services = np.array([f == "services" for f in study.family])
    factor = np.where(services, np.where(study.higher_is_better, 0.5, 2.0), 1.0)
    rates = services & study.higher_is_better
    worse = cur * factor[:, None, None]
    caught = {d: gated(study, worse, base, d) for d in (SEQUENTIAL, TWO)}
    assert caught[SEQUENTIAL][:, rates].mean() >= 0.80
    assert caught[SEQUENTIAL][:, rates].mean() > caught[TWO][:, rates].mean() + 0.05
    assert caught[SEQUENTIAL][:, ~services].any(axis=-1).mean() <= 0.05


def test_the_ledger_spends_more_set_ups_where_a_verdict_is_open(study: Measured) -> None:
    """The simulation's stopping is the plugin's: two set-ups everywhere, and more on some
    columns only (where nothing is planted, about 2.4 on average)."""
    rng = np.random.default_rng(23)
    night = draw(study, rng, gaussian, study.run_sd)[0]
    ran = setups_run(study, night, SEQUENTIAL)
    assert ran.min() >= 2
    assert ran.max() <= 4
    hosts = np.array([lab == HOST for lab in study.label])
    for case in set(study.case):
        mine = np.array([c == case for c in study.case])
        # The host runs as many as its case's busiest column.
        assert ran[mine & hosts].max() == ran[mine & ~hosts].max()
