"""Comparisons whose unit is the independent set-up, not the round.

Rounds of one container or guest share everything a rerun would draw afresh (page cache and
file layout, memory placement, the core the scheduler favours, a neighbour that was busy): in
unchanged runs of this machine most of the variance of a run's mean is between runs, not between
its rounds. So a side's estimate is the mean of its set-ups' mean log values, and its variance:

- with two or more set-ups, the spread of their means (which holds the rounds' noise and the
  set-ups' alike), on k - 1 degrees of freedom;
- with one set-up, which cannot show how much a fresh one would differ, a set-up variance
  borrowed from elsewhere: the machine's own, where its history of the same scenario measured
  the metric (verdict/noise_model.py: how far one run's set-up mean moved between its earlier
  runs, plus what tonight's rounds show beyond the history's round noise), else its family's
  documented conservative default added to the rounds' variance of the mean; the degrees of
  freedom by Satterthwaite. Never an interval narrower than the data support.

The two sides then combine as Welch's test does (Comparison: cost, interval, tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from triptych.families import setup_spread
from triptych.verdict.noise_model import Spread
from triptych.verdict.stats import MARGIN, Comparison

# How well a family default is known, as degrees of freedom: a documented constant, taken from
# six unchanged runs (tests/data/history*) and the nested study (tests/data/nested), each the
# largest spread among its family's metrics (families.Family.setup_default).
DEFAULT_DF = 5.0


@dataclass(frozen=True)
class Borrowed:
    """A set-up variance a one-set-up side borrows: its standard deviation (of a set-up's mean
    log value, beyond its rounds' noise), how well it is known, and where it came from."""

    sd: float
    df: float
    source: str  # "default" (the family's) or "history" (the machine's own, of_history)
    # From a history: the variance of one run's set-up mean, rounds included (NaN: a default,
    # added to the rounds' own), and the part the history's rounds explained.
    total: float = math.nan
    rounds_var: float = 0.0


DEFAULT, HISTORY = "default", "history"


def family_default(family: str) -> Borrowed:
    """The family's conservative default (the widest family's where the family is unknown)."""
    return Borrowed(setup_spread(family), DEFAULT_DF, DEFAULT)


def of_history(spread: Spread) -> Borrowed:
    """What a one-set-up side borrows from the machine's own history of its metric."""
    return Borrowed(spread.beyond_rounds, float(spread.runs - 1), HISTORY, spread.total,
                    spread.rounds_var)  # fmt: skip


@dataclass(frozen=True)
class Side:
    """One side of a comparison at the set-up level."""

    mean: float  # mean of the set-ups' mean log values
    var: float  # the variance of that mean
    df: float
    setups: int
    rounds: int


def side(setups: Sequence[np.ndarray], borrowed: Borrowed) -> Side:
    """A side from its set-ups' rounds (positive figures; each set-up one array)."""
    logs = [np.log(np.asarray(g, dtype=float)) for g in setups if len(g)]
    rounds = sum(len(g) for g in logs)
    if len(logs) >= 2:
        means = np.array([g.mean() for g in logs])
        return Side(float(means.mean()), float(means.var(ddof=1) / len(means)),
                    float(len(means) - 1), len(logs), rounds)  # fmt: skip
    (only,) = logs
    n = len(only)
    within = float(only.var(ddof=1) / n) if n >= 2 else math.nan
    if math.isfinite(borrowed.total):
        return _predicted(float(only.mean()), within, n, borrowed)
    between = borrowed.sd**2
    if not math.isfinite(within):
        return Side(float(only.mean()), math.nan, 0.0, 1, n)
    var = within + between
    parts = within**2 / (n - 1) + (between**2 / borrowed.df if between > 0 else 0.0)
    df = var**2 / parts if parts > 0 else float(n - 1)
    return Side(float(only.mean()), var, df, 1, n)


def _predicted(mean: float, within: float, n: int, borrowed: Borrowed) -> Side:
    """One set-up against the spread its history showed for one set-up: that spread, plus what
    its own rounds show beyond the history's round noise (none known from a single round)."""
    excess = max(within - borrowed.rounds_var, 0.0) if math.isfinite(within) else 0.0
    var = borrowed.total + excess
    parts = borrowed.total**2 / borrowed.df + (excess**2 / (n - 1) if excess > 0 else 0.0)
    df = var**2 / parts if parts > 0 else borrowed.df
    return Side(mean, var, df, 1, n)


def compare_setups(
    platform: Sequence[np.ndarray],
    baseline: Sequence[np.ndarray],
    higher_is_better: bool,
    borrowed: Borrowed,
    margin: float = MARGIN,
    looks: int = 1,
    baseline_borrowed: Borrowed | None = None,
) -> Comparison:
    """The platform against the baseline with the set-up as the unit; cost oriented by the
    metric's direction; `looks`: how often a sequential design could have stopped it;
    `baseline_borrowed`: the baseline's own where it differs from the platform's (a history's
    spread is each column's)."""
    every = [x for g in (*platform, *baseline) for x in np.asarray(g, dtype=float)]
    a_n, b_n = sum(len(g) for g in platform), sum(len(g) for g in baseline)
    if not platform or not baseline or not a_n or not b_n or min(every) <= 0:
        return Comparison(math.nan, math.nan, 0.0, a_n, b_n, margin, looks)
    a = side(platform, borrowed)
    b = side(baseline, borrowed if baseline_borrowed is None else baseline_borrowed)
    diff = a.mean - b.mean
    cost = -diff if higher_is_better else diff
    var = a.var + b.var
    if not math.isfinite(var):
        return Comparison(cost, math.nan, 0.0, a.rounds, b.rounds, margin, looks)
    parts = (a.var**2 / a.df if a.df > 0 else 0.0) + (b.var**2 / b.df if b.df > 0 else 0.0)
    df = var**2 / parts if parts > 0 else float(a.rounds + b.rounds - 2)
    return Comparison(cost, math.sqrt(var), df, a.rounds, b.rounds, margin, looks)
