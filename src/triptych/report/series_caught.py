"""What the nightly gate's series test could catch within three nights (issue 23 item 5), per
environment the report groups: the group's newest complete run and the nights before it in its
environment and scenario, read as the gate reads them (gate/history.py, gate/series.py: the
window, the nights its regressions of record hold out), each primary metric's figure from its
own night-to-night noise (gate/series_power.py) at the gate's default threshold. From the saved
runs alone; the gate's summary gives the same figures at the thresholds it was given."""

from __future__ import annotations

from dataclasses import dataclass, replace

from triptych import families
from triptych.errors import TriptychError
from triptych.gate import CALIBRATE, WINDOW, memory, series
from triptych.gate.compare import DEFAULT_THRESHOLD, Sides
from triptych.gate.history import newest_against_history, subset
from triptych.gate.metric_series import headline
from triptych.gate.record import Regression
from triptych.results.load import Runs


@dataclass(frozen=True)
class MetricCaught:
    case: str
    metric: str
    column: str
    family: str
    caught: float  # a cost (> 1 worse); math.inf: nothing can be claimed yet


@dataclass(frozen=True)
class SeriesCaught:
    scenario: str
    newest: str
    nights: int  # the longest series read, tonight's night included
    threshold: float
    metrics: list[MetricCaught]
    tested: int  # of the metrics, those with series long enough to be decided together
    families: list[families.Range]  # over the metrics with a finite figure


def primaries(runs: Runs) -> Runs:
    """The runs' primary metrics alone: all the series test reads."""
    return replace(runs, samples=runs.samples[headline(runs.samples)])


def series_caught(
    runs: Runs, group_runs: list[str], regressions: list[Regression]
) -> SeriesCaught | None:
    """The figures for one group's newest run; None where its environment and scenario hold
    fewer than the nightly gate's CALIBRATE earlier runs (no nightly gate decides there yet)."""
    reach = memory.reach(CALIBRATE, WINDOW, regressions)
    try:
        base, cur, _, newest = newest_against_history(subset(runs, group_runs, []), reach)
    except TriptychError:  # one run, or none earlier of its scenario: nothing to gate
        return None
    if base.samples.run.nunique() < CALIBRATE:
        return None
    sides = Sides.of(primaries(base), primaries(cur))
    history = memory.History.of(base, cur)
    per = series.nightly(sides, regressions, history, newest, WINDOW)
    margins = dict.fromkeys(sides.base, DEFAULT_THRESHOLD)
    found = [
        MetricCaught(*key, family, caught)
        for key, family, caught in series.catchable_steps(per, sides, margins)
    ]
    return SeriesCaught(
        history.scenario,
        newest,
        max((len(nights) for nights, _ in per.values()), default=0),
        DEFAULT_THRESHOLD,
        found,
        series.tested_together([v for _, v in per.values()]),
        families.ranges((m.family, m.caught) for m in found),
    )
