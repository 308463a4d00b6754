"""A machine's own noise, from its history: the set-up spread a one-set-up side borrows where the
machine has measured it, instead of its family's documented default (verdict/nested.py).

For each metric and column, the earlier runs of the same environment and scenario (the newest
WINDOW of them, complete and not reruns of some cases: the caller chooses them) each give one
value: the mean log value of their first set-up. Set-ups of one run share its run effect, so
one per run keeps the runs independent draws of what a fresh run's set-up shows. Their variance
on runs - 1 degrees of freedom is exactly how far one run's set-up mean moves between reruns,
rounds, set-up and run noise alike, with no variance component subtracted or clamped. It is
a prediction, as the nightly gate's history test is: only what the rounds of tonight's set-up
show beyond the history's own round noise is added (a noisier run never borrows the history's
calm; verdict.nested.side).

Exact copies are one run: two runs whose set-up mean is the same float are copies of one file,
not reruns (real reruns never agree to 16 digits), and are counted once. Fewer than MIN_RUNS
distinct runs of a metric: no model for it, and its family's default stands.

Validity (tests/test_noise_model.py, through verdict.nested.compare_setups, round, set-up and run
terms drawn from the nested study's spreads, Gaussian and Student-t(3)): a one-set-up cell that
borrows from five earlier runs covers the true cost at least 94% of the time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

# The fewest distinct earlier runs a metric's spread is taken from: four degrees of freedom
# (the nightly gate calibrates on as many, gate.CALIBRATE).
MIN_RUNS = 5
# The newest earlier runs read: the machine as it is now, not as it was a year ago (the gate's
# change-point window, gate.WINDOW).
WINDOW = 30

Key = tuple[str, str, str]  # case, metric, column label
T = TypeVar("T")


@dataclass(frozen=True)
class Spread:
    """How one metric of one column varies between runs of one set-up: the variance of a run's
    set-up mean log value (`total`, rounds included) on `runs` - 1 degrees of freedom, and the
    part of it its rounds explain (`rounds_var`: the runs' mean variance of their rounds' mean)."""

    total: float
    rounds_var: float
    runs: int

    @property
    def beyond_rounds(self) -> float:
        """The standard deviation a fresh set-up adds beyond its rounds (for display)."""
        return math.sqrt(max(self.total - self.rounds_var, 0.0))


@dataclass(frozen=True)
class NoiseModel:
    """A machine's spreads in one environment and scenario, from `runs` earlier runs."""

    scenario: str
    runs: tuple[str, ...]
    spreads: dict[Key, Spread]

    def get(self, case: str, metric: str, label: str) -> Spread | None:
        return self.spreads.get((case, metric, label))


EMPTY = NoiseModel("", (), {})


def fit(history: pd.DataFrame, scenario: str = "") -> NoiseModel:
    """The model from labelled samples of earlier runs (columns run, case, metric, label, setup,
    value): each run's first set-up of each metric and column."""
    if history.empty:
        return EMPTY
    keys = ["case", "metric", "label"]
    first = history.groupby([*keys, "run"], observed=True).setup.transform("min")
    rows = history[history.setup == first]
    values = rows.value.to_numpy(dtype=float)
    usable = np.isfinite(values) & (values > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(usable, np.log(np.where(usable, values, 1.0)), np.nan)
    per_run = (
        rows[[*keys, "run"]]
        .assign(log=logs, bad=~usable)
        .groupby([*keys, "run"], observed=True, sort=False)
        .agg(mean=("log", "mean"), var=("log", "var"), n=("log", "size"), bad=("bad", "any"))
    )
    flat = per_run.reset_index()
    # Each metric's runs, in arrays (a pandas object per metric would cost more than the sums).
    group = flat.groupby(keys, observed=True, sort=False).ngroup().to_numpy()
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    means = flat["mean"].to_numpy(dtype=float)[order]
    rounds_vars = (flat["var"].to_numpy(dtype=float) / flat["n"].to_numpy(dtype=float))[order]
    bad = flat["bad"].to_numpy(dtype=bool)[order]
    names = flat[keys].astype(str).to_numpy()[order]
    spreads: dict[Key, Spread] = {}
    for at in np.split(np.arange(order.size), bounds):
        if bad[at].any():
            continue  # a value a log cannot take: the family's default stands
        found = _spread_of(means[at], rounds_vars[at])
        if found is not None:
            case, metric, label = names[at[0]]
            spreads[(str(case), str(metric), str(label))] = found
    return NoiseModel(scenario, tuple(str(r) for r in rows.run.unique()), spreads)


def _spread(values: np.ndarray, runs: np.ndarray) -> Spread | None:
    """One metric's spread from its rounds (`runs`: each round's run)."""
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        return None
    logs = np.log(values)
    codes = np.unique(runs)
    means = np.array([logs[runs == r].mean() for r in codes])
    rounds_vars = np.array(
        [logs[runs == r].var(ddof=1) / (runs == r).sum() if (runs == r).sum() > 1 else np.nan
         for r in codes]
    )  # fmt: skip
    return _spread_of(means, rounds_vars)


def _spread_of(means: np.ndarray, rounds_vars: np.ndarray) -> Spread | None:
    """A spread from each run's mean log value and its rounds' variance of that mean (NaN for
    a single round), or None if fewer than MIN_RUNS distinct runs give it."""
    distinct = np.unique(means)  # copies of one run count once
    if distinct.size < MIN_RUNS:
        return None
    known = rounds_vars[np.isfinite(rounds_vars)]
    rounds_var = float(known.mean()) if known.size else 0.0
    return Spread(float(distinct.var(ddof=1)), rounds_var, int(distinct.size))


def newest(runs: Iterable[T], limit: int = WINDOW) -> list[T]:
    """The newest `limit` of runs given oldest first."""
    ordered = list(runs)
    return ordered[-limit:] if limit else []


def of_runs(
    df: pd.DataFrame,
    scenario: str,
    earlier: list[str],
    excluded: set[str],
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> NoiseModel:
    """The machine's noise from the newest `WINDOW` of `earlier` (runs oldest first, labelled
    samples in `df`, of one environment) that took the whole of `scenario`: not one of
    `excluded` (reruns of some cases, partial runs, the runs being compared); `derive` adds the
    metrics derived from the samples (the report's host CPU per unit of work)."""
    candidates = [r for r in earlier if r not in excluded]
    if not candidates:
        return EMPTY
    of_scenario = df[df.run.isin(candidates) & (df.scenario == scenario)]
    present = {str(r) for r in of_scenario.run.unique()}
    kept = of_scenario[of_scenario.run.isin(set(newest(r for r in candidates if r in present)))]
    return fit(derive(kept) if derive is not None else kept, scenario)
