"""Where a figure's noise comes from: rounds within a set-up, set-ups within a run, and runs.

Balanced nested analysis of variance on log values (method of moments, each component clamped
at zero), for each metric and column of runs that share a scenario with `setups` >= 2:

  s2_round = mean variance of the rounds within a set-up
  s2_setup = variance of set-up means within a run - s2_round / rounds
  s2_run   = variance of run means - s2_setup / setups - s2_round / (setups * rounds)

`fresh_share` = s2_setup / (s2_setup + s2_run): near 1, a fresh set-up re-draws what a rerun
would (set-ups in one run measure the run-to-run noise); near 0, runs differ by something set-ups
in one run share (the hour, the machine's state), which only more runs can show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from triptych.results.costs import primary_rows


@dataclass(frozen=True)
class Components:
    family: str
    case: str
    metric: str
    label: str
    runs: int
    setups: int
    rounds: int
    round_var: float
    setup_var: float
    run_var: float

    @property
    def fresh_share(self) -> float:
        total = self.setup_var + self.run_var
        return self.setup_var / total if total > 0 else math.nan


def nested(y: np.ndarray) -> tuple[float, float, float]:
    """(round, set-up, run) variance components of log values y[run, setup, round]."""
    runs, setups, rounds = y.shape
    round_var = float(y.var(axis=2, ddof=1).mean())
    setup_means = y.mean(axis=2)
    between_setups = float(setup_means.var(axis=1, ddof=1).mean())
    setup_var = max(0.0, between_setups - round_var / rounds)
    if runs < 2:
        return round_var, setup_var, math.nan  # one run cannot show a run component
    between_runs = float(setup_means.mean(axis=1).var(ddof=1))
    run_var = max(0.0, between_runs - setup_var / setups - round_var / (setups * rounds))
    return round_var, setup_var, run_var


def _cube(g: pd.DataFrame) -> np.ndarray | None:
    """The group's log values as y[run, setup, round], if balanced (else None)."""
    shape = g.groupby(["run", "setup"], observed=True).size()
    if shape.nunique() != 1 or g.setup.nunique() < 2:
        return None
    per_run = g.groupby("run", observed=True).setup.nunique()
    if per_run.nunique() != 1:
        return None
    ordered = g.sort_values(["run", "setup", "round"])
    runs, setups = g.run.nunique(), int(per_run.iloc[0])
    logs: np.ndarray = np.log(ordered.value.to_numpy(dtype=float))
    return logs.reshape(runs, setups, int(shape.iloc[0]))


def components(df: pd.DataFrame) -> list[Components]:
    """Each primary metric's components, per case and column (labelled samples of the runs)."""
    out = []
    keys = ["family", "case", "metric", "label"]
    for key, g in primary_rows(df).groupby(keys, observed=True):
        if (g.value <= 0).any():
            continue
        y = _cube(g)
        if y is None:
            continue
        r, s, u = nested(y)
        family, case, metric, label = (str(k) for k in key)
        runs, setups, rounds = y.shape
        out.append(Components(family, case, metric, label, runs, setups, rounds, r, s, u))
    return out
