"""Each metric of each column across saved runs, with every run's rounds kept apart (never
pooled): what the gate compares and tests, read from the runs in one pass."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from triptych.results.labels import labelled
from triptych.results.load import Runs

Key = tuple[str, str, str]  # case, metric, column label


@dataclass(frozen=True)
class Series:
    """One metric of one column across runs: each run's rounds."""

    family: str
    unit: str
    higher_is_better: bool
    runs: dict[str, np.ndarray]  # run -> its rounds' values
    emulated: bool = True  # measured under emulation (its noise group may differ)
    setups: dict[str, np.ndarray] = field(default_factory=dict)  # run -> each round's set-up
    primary: bool = False  # its case's primary metric on the platform's direct path

    def by_setup(self) -> list[np.ndarray]:
        """The rounds of every set-up of every run (a run with several, when it is one)."""
        return [
            rounds[setup == s]
            for run, rounds in sorted(self.runs.items())
            for setup in [self.setups.get(run, np.zeros(rounds.size, dtype=int))]
            for s in np.unique(setup)
        ]


def headline(samples: pd.DataFrame) -> pd.Series:
    """Which samples are their case's primary metric on the platform's direct path."""
    primary: pd.Series = (
        samples.metric.astype(str) == samples.primary_metric.astype(str)
    ) & samples.primary.astype(bool)
    return primary


def series(runs: Runs) -> dict[Key, Series]:
    """Every metric of every column, with each run's rounds kept apart (never pooled)."""
    df = labelled(runs.samples)
    if df.empty:
        return {}
    df = df.assign(headline=headline(df))
    keys = ["case", "metric", "label", "family", "unit", "higher_is_better", "emulated", "run"]
    # One pass over rows sorted by group (a group per metric, column and run), sliced by numpy:
    # pandas' per-group iteration took seconds over a 60-night history.
    group = df.groupby(keys, observed=True, sort=True).ngroup().to_numpy()
    rows = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[rows]) != 0])
    ends = np.r_[starts[1:], rows.size]
    values = df.value.to_numpy(dtype=float)[rows]
    setups = df.setup.fillna(0).to_numpy(dtype=int)[rows]
    heads = df.iloc[rows[starts]]  # each group's first row: its keys and headline flag
    out: dict[Key, Series] = {}
    for i, (case, metric, label, family, unit, hib, emu, run, is_headline) in enumerate(
        zip(*(heads[c].tolist() for c in [*keys, "headline"]), strict=True)
    ):
        key = (str(case), str(metric), str(label))
        s = out.setdefault(
            key, Series(str(family), str(unit), bool(hib), {}, bool(emu), primary=bool(is_headline))
        )
        s.runs[str(run)] = values[starts[i] : ends[i]]
        s.setups[str(run)] = setups[starts[i] : ends[i]]
    return out
