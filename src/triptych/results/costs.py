"""Each run's cost against its host, per family and column: the report's trend lines and the
store's run_costs (a year of nights is drawn without reading its samples)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from triptych.platforms.catalog import BASELINE

HOST = BASELINE  # the baseline column's label: every cost is against it


def primary_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Each case's primary metric only (a case from a record that named none: its first)."""
    named = _text(df.primary_metric)
    first = _text(df.groupby(["run", "case"], observed=True).metric.transform("first"))
    primary = np.where(named != "", named, first)
    chosen: pd.DataFrame = df[_text(df.metric) == primary]
    return chosen


def _text(column: pd.Series) -> np.ndarray:
    """A column's values as text, a category's text shared by its rows (not one string made per
    row: a year of runs holds 160,000)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = np.asarray(column.cat.categories.astype(str), dtype=object)
        codes = column.cat.codes.to_numpy()
        return np.where(codes >= 0, names[codes] if names.size else "", "nan")
    return column.astype(str).to_numpy(dtype=object)


def trend_costs(df: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    """(run, family, label) -> geometric mean of the cases' primary-metric median costs."""
    med = (
        primary_rows(df)
        .groupby(["run", "family", "case", "higher_is_better", "label"], observed=True)["value"]
        .median()
        .reset_index()
    )
    host = med[med.label == HOST].set_index(["run", "case"])["value"]
    med = med[med.label != HOST].join(host.rename("baseline"), on=["run", "case"])
    med = med[(med.baseline > 0) & (med.value > 0)]
    ratio = med.value / med.baseline
    med = med.assign(lc=np.log(np.where(med.higher_is_better, 1 / ratio, ratio)))
    means = med.groupby(["run", "family", "label"], observed=True)["lc"].mean()
    return {
        (str(k[0]), str(k[1]), str(k[2])): math.exp(float(v))
        for k, v in means.items()
        if isinstance(k, tuple)
    }
