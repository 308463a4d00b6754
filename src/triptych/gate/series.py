"""The nightly gate over each metric's series: tonight and the nights before it (up to
--window, outside the nights a regression of record keeps out) tested for a step
(gate/changepoint.py), the primary metrics together at a family-wise 5%. A step whose later
segment is worse beyond the metric's threshold opens a regression of record from its first
night: a change too small for one night to show, seen once it has lasted."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from triptych.gate import WINDOW
from triptych.gate.changepoint import Step, permutations_for, step, steppable
from triptych.gate.compare import Sides
from triptych.gate.memory import History, excluded, open_now
from triptych.gate.metric_series import Key
from triptych.gate.record import Regression
from triptych.gate.series_power import catchable
from triptych.verdict.stats import ALPHA, adjust


@dataclass(frozen=True)
class Shift:
    """A step found in one metric's series."""

    key: Key
    first_run: str  # the later segment's first night
    last_good: str  # the night before it
    nights: tuple[str, ...]  # the later segment
    cost: float  # the later segment against the earlier, oriented: > 1 is worse
    p: float  # Holm-adjusted over the night's metrics
    margin: float

    @property
    def regression(self) -> bool:
        return worse(self.p, self.cost, self.margin)


def worse(p: float, cost: float, margin: float) -> bool:
    """A step the gate opens a regression for: significant (family-wise) and worse beyond the
    metric's threshold."""
    return p < ALPHA and cost > 1 + margin


def nightly(
    sides: Sides,
    regressions: list[Regression],
    history: History,
    newest: str,
    window: int = WINDOW,
) -> dict[Key, tuple[list[str], np.ndarray]]:
    """Per primary metric, its nights (oldest first, tonight last) and each night's mean log
    value: the newest `window` outside the nights its regressions of record keep out."""
    out = excluded(regressions, history)
    found: dict[Key, tuple[list[str], np.ndarray]] = {}
    for key, s in sides.base.items():
        cur = sides.cur.get(key)
        if not s.primary or cur is None or newest not in cur.runs:
            continue
        gone = out.get(key, set())
        nights = [r for r in history.order if r in s.runs and r not in gone][-(window - 1) :]
        values = [s.runs[r] for r in nights] + [cur.runs[newest]]
        if any(v.size == 0 or np.any(v <= 0) for v in values):
            continue
        found[key] = ([*nights, newest], np.array([np.log(v).mean() for v in values]))
    return found


def tested_together(values: list[np.ndarray]) -> int:
    """How many of the series the test decides together (its Holm family): those long enough
    to test (changepoint.steppable); a shorter one is not counted."""
    return sum(1 for x in values if steppable(x))


def decided(
    values: list[np.ndarray], higher_is_better: list[bool]
) -> list[tuple[Step | None, float]]:
    """Each series' most likely step for the worse and its p-value adjusted over all of them
    (Holm); a series too short to test has none (and is not counted). Each is tested on enough
    random orders for the family's size (changepoint.permutations_for)."""
    family = tested_together(values)
    orders = permutations_for(family, ALPHA)
    found = [step(x, h, permutations=orders) for x, h in zip(values, higher_is_better, strict=True)]
    p = np.array([s.p if s is not None else np.nan for s in found])
    adjusted = adjust(p[None, :], "fwer")[0] if found else p
    return [(s, float(a)) for s, a in zip(found, adjusted, strict=True)]


def oriented(found: Step, higher_is_better: bool) -> float:
    """The later segment's cost against the earlier one: > 1 is worse."""
    return math.exp(-found.shift if higher_is_better else found.shift)


def shifts(
    sides: Sides,
    regressions: list[Regression],
    history: History,
    newest: str,
    margins: dict[Key, float],
    window: int = WINDOW,
) -> list[Shift]:
    """Every primary metric's most likely step tonight, decided together (Holm)."""
    return steps_in(nightly(sides, regressions, history, newest, window), sides, margins)


def steps_in(
    per: dict[Key, tuple[list[str], np.ndarray]], sides: Sides, margins: dict[Key, float]
) -> list[Shift]:
    """shifts() of series already read (nightly's)."""
    keys = sorted(per)
    better = [sides.base[k].higher_is_better for k in keys]
    found_all = decided([per[k][1] for k in keys], better)
    out = []
    for key, hib, (found, p) in zip(keys, better, found_all, strict=True):
        if found is None:
            continue
        nights = per[key][0]
        out.append(
            Shift(key, nights[found.at], nights[found.at - 1], tuple(nights[found.at :]),
                  oriented(found, hib), p, margins.get(key, 0.0))
        )  # fmt: skip
    return out


def catchable_steps(
    per: dict[Key, tuple[list[str], np.ndarray]], sides: Sides, margins: dict[Key, float]
) -> list[tuple[Key, str, float]]:
    """Per primary metric of `per` (nightly's series), its family and the smallest step the
    series test catches within three nights 80% of the time on its series
    (gate/series_power.py), in a Holm family of the metrics tested tonight."""
    tested = tested_together([v for _, v in per.values()])
    return [
        (k, sides.base[k].family, catchable(v, tested, margins.get(k, 0.0)))
        for k, (_, v) in sorted(per.items())
    ]


def opened_by_shifts(
    found: list[Shift], regressions: list[Regression], history: History, dates: dict[str, str]
) -> list[Regression]:
    """The regressions of record the night's steps open: a worse step on a metric with no open
    regression of its own in this history."""
    open_keys = {r.key for r in open_now(regressions, history)}
    return [
        Regression(
            *s.key,
            history.env,
            history.scenario,
            s.first_run,
            dates.get(s.first_run, ""),
            s.last_good,
            s.cost,
            s.nights,
            confirmed=s.nights[-1],  # it lasted changepoint.MIN_SEGMENT nights or more
        )
        for s in found
        if s.regression and s.key not in open_keys
    ]
