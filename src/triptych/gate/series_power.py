"""What the series test could catch (issue 23 item 5): per primary metric, the smallest step for
the worse that the test over its nightly series (gate/changepoint.py) catches within three nights
80% of the time, at the metric's own night-to-night noise.

The test is free of scale (a permutation test of a standardized statistic), so its power depends
on the step in units of the nights' standard deviation, on how many nights it reads and on how
many metrics share the night's Holm family. STEP_SD holds, for Gaussian nights, that step in
night standard deviations, measured through the gate's own test (tests/test_series_power.py
re-measures points of it and says how the table was made); between the tabled numbers of nights
and family sizes it is interpolated on log scales. Outside the table nothing is claimed: fewer
nights than its first row, or a family larger than its last column, catch nothing we can state.

A step opens a regression only beyond its metric's threshold as well, measured by the segments'
medians: where the test alone would catch less than the threshold, what is caught is bounded by
the threshold instead (about half the steps exactly at it).
"""

from __future__ import annotations

import math

import numpy as np

NIGHTS = (10, 15, 20, 30, 45, 60)  # nights read (up to the default window)
FAMILY = (1, 8, 48, 160, 500)  # metrics in the night's Holm family
# STEP_SD[i][j]: NIGHTS[i] nights, a Holm family of FAMILY[j] metrics; math.inf: not caught 80%
# of the time at any step. The floor that makes those: a step three nights old reaches a
# p-value of about 1/C(nights, 3) at best (its three nights the highest of the window, in any
# order), against Holm's 0.05/family. The random orders are not a floor: there are enough for
# the family (changepoint.permutations_for). Measured with them (tests/test_series_power.py says
# how); with 4999 orders for every family, 160 metrics needed 4.18 sds at 60 nights and over
# about 250 metrics nothing could be caught.
INF = math.inf
# What the summary and the report say where the table claims nothing for any metric.
NOT_YET = (
    "too few nights, or too many metrics, to tell a step three nights old from noise (at least "
    f"{NIGHTS[0]} nights, more for many metrics)"
)
STEP_SD: tuple[tuple[float, ...], ...] = (
    (2.26, INF, INF, INF, INF),  # 10 nights
    (2.08, 3.40, INF, INF, INF),  # 15
    (2.21, 2.96, INF, INF, INF),  # 20
    (2.15, 2.93, 3.50, 4.72, INF),  # 30
    (2.06, 2.52, 3.22, 3.46, 4.27),  # 45
    (2.06, 2.61, 3.06, 3.34, 3.73),  # 60
)


def _between(x: float, xs: tuple[int, ...], ys: list[float]) -> float:
    """ys at x, linear in log x between the tabled points; infinite where a neighbour is."""
    i = int(np.searchsorted(np.array(xs), x, side="right")) - 1
    if xs[i] == x:
        return ys[i]
    if not (math.isfinite(ys[i]) and math.isfinite(ys[i + 1])):
        return math.inf
    t = (math.log(x) - math.log(xs[i])) / (math.log(xs[i + 1]) - math.log(xs[i]))
    return ys[i] + t * (ys[i + 1] - ys[i])


def step_sd(nights: int, family: int) -> float:
    """The step, in night standard deviations, caught within three nights 80% of the time
    (math.inf where the table claims nothing)."""
    if nights < NIGHTS[0] or not 1 <= family <= FAMILY[-1]:
        return math.inf
    n = min(nights, NIGHTS[-1])  # the test reads at most its window: the last row
    by_nights = [_between(family, FAMILY, list(row)) for row in STEP_SD]
    return _between(n, NIGHTS, by_nights)


def night_sd(values: np.ndarray) -> float:
    """A series' night-to-night standard deviation, robust to a step and to a wild night: the
    median absolute successive difference, scaled to a Gaussian's sd (1.4826 / sqrt 2)."""
    if values.size < 3:
        return math.nan
    d = np.abs(np.diff(values))
    return float(1.4826 * np.median(d) / math.sqrt(2.0))


def catchable(values: np.ndarray, family: int, margin: float) -> float:
    """The smallest step (a cost: > 1 is worse) the series test catches within three nights 80%
    of the time on this series; at least the threshold's 1 + margin."""
    k = step_sd(values.size, family)
    sd = night_sd(values)
    if not math.isfinite(k) or not math.isfinite(sd):
        return math.inf
    return max(math.exp(k * sd), 1.0 + margin)
