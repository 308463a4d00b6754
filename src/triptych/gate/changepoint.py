"""Change points in a metric's nightly series (issue 23; Apache Otava's split test with a
minimum segment length, calibrated by permutation).

Each night is one value: the log of that night's mean, oriented so that larger is worse. For
every split of the series into an earlier and a later segment, each at least MIN_SEGMENT nights
long, a two-sample t (pooled within-segment variance) measures how much worse the later segment
is; the statistic is the largest t over the splits (computed as the standardized step that
orders the splits as t does: _z_by_split). The test is one-sided: the gate opens
regressions, and a step for the better is none, so no part of the error rate is spent on it.
Before that the series is winsorized at its median +- WINSOR robust standard deviations (1.4826
MAD): a wild night in the history cannot swell the null far, and a real step several robust
standard deviations tall is not clipped away (at 3, a tall step under heavy tails was clipped to
the size of ordinary noise). The p-value is the statistic's rank among the same statistic on
random orders of the same nights: exact under "no change" (the nights exchangeable) whatever
their distribution, heavy tails included. How many orders: enough that the smallest p-value they
can give sits well under the level Holm asks of the night's most significant metric (the
family's 5% / metrics, at least 4999 orders; with 4999 for every family, over about 250 metrics
no step could ever be caught); and Besag and Clifford's sequential rule (Biometrika 1991) stops
drawing once EXCEEDANCES orders have reached the observed statistic, with p = EXCEEDANCES / the
orders drawn, itself a valid p-value. An unchanged series stops after a few hundred orders;
only a series near or past the level draws them all. A lone wild night among the
newest three can pass for a step when the nights beside it happen to be high too: in 2.3% of
series over 60 nights, Holm over a quick run's 48 primary metrics (tests/test_changepoint.py;
0.7% over 30 nights, which caught a 1.4x step at 10% noise three nights in on 74-80% of
metrics, against 89-90% over 60). The metrics of
a night are then decided together, Holm's family-wise 5% (verdict.stats.adjust), so at most 5%
of unchanged nights alarm on any metric of a machine; the simulation in tests/test_changepoint.py
measures it with Gaussian and Student-t(3) night effects drawn from this machine's measured
spreads.

The permutations are drawn from a generator seeded by the series itself: the same history
gives the same verdict on every rerun of the gate.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

MIN_SEGMENT = 3  # nights on each side: a step is seen on its third night
WINSOR = 8.0  # robust standard deviations from the median beyond which a night is clipped
PERMUTATIONS = 4999  # the fewest orders a series may be tested on
EXCEEDANCES = 20  # orders at or above the observed statistic after which drawing stops
FIRST_BATCH = 100  # orders drawn at once, doubling up to BATCH
BATCH = 4096


def permutations_for(family: int, alpha: float = 0.05) -> int:
    """Random orders for a series in a Holm family of `family` metrics at family-wise `alpha`:
    the smallest p-value they give, 1 / (orders + 1), is an EXCEEDANCES-th of the level Holm
    asks of the family's most significant metric, so a series there stops on its own rule, not
    on running out of orders (at least PERMUTATIONS)."""
    return max(PERMUTATIONS, math.ceil(EXCEEDANCES * max(family, 1) / alpha))


@dataclass(frozen=True)
class Step:
    """The most likely split of one series: the later segment starts at `at` (an index into the
    series), its shift in log units (later minus earlier), and the permutation p-value."""

    at: int
    shift: float
    p: float


def winsorized(x: np.ndarray) -> np.ndarray:
    median = float(np.median(x))
    spread = 1.4826 * float(np.median(np.abs(x - median)))
    if spread == 0.0:
        return x.copy()
    clipped: np.ndarray = np.clip(x, median - WINSOR * spread, median + WINSOR * spread)
    return clipped


def _z_by_split(x: np.ndarray, least: int) -> np.ndarray:
    """The standardized step of every split k in [least, n - least] for each row of x (rows:
    orders of one series), as (rows, splits): (later mean - earlier mean) * sqrt(k (n - k) / n),
    positive where the later segment is larger (worse). The pooled two-sample t of a split is
    z / sqrt((SS - z^2) / (n - 2)), SS the nights' total sum of squares about their mean: an
    increasing function of z, and the same one for every order of the same nights. So the
    largest z picks the split the largest t picks, and ranks every order as t would, at a
    cumulative sum per order."""
    n = x.shape[-1]
    k = np.arange(least, n - least + 1)
    before = np.cumsum(x, axis=-1)[..., k - 1]
    total = np.sum(x, axis=-1, keepdims=True)
    z: np.ndarray = (k * total - n * before) / np.sqrt(n * k * (n - k))
    return z


def _seed(x: np.ndarray) -> int:
    return int.from_bytes(hashlib.sha256(np.ascontiguousarray(x).tobytes()).digest()[:8], "big")


def _p_value(w: np.ndarray, observed: float, least: int, permutations: int, seed: int) -> float:
    """The statistic's p-value over random orders of w, drawn in batches until EXCEEDANCES of
    them reach `observed` (p = EXCEEDANCES / the orders drawn up to the last of those) or
    `permutations` are drawn (p = (1 + those at or above it) / (permutations + 1))."""
    rng = np.random.default_rng(seed)
    drawn = above = 0
    size = FIRST_BATCH
    while drawn < permutations:
        size = min(size, permutations - drawn)
        orders = rng.permuted(np.broadcast_to(w, (size, w.size)), axis=1)
        hits = np.flatnonzero(_z_by_split(orders, least).max(axis=1) >= observed)
        if above + hits.size >= EXCEEDANCES:
            return EXCEEDANCES / (drawn + int(hits[EXCEEDANCES - above - 1]) + 1)
        above += hits.size
        drawn += size
        size = min(2 * size, BATCH)
    return (1.0 + above) / (permutations + 1.0)


def steppable(x: np.ndarray, least: int = MIN_SEGMENT) -> bool:
    """Whether step() tests this series: two segments of `least` nights, every value finite."""
    return bool(x.size >= 2 * least and np.all(np.isfinite(x)))


def step(
    x: np.ndarray,
    higher_is_better: bool,
    least: int = MIN_SEGMENT,
    permutations: int = PERMUTATIONS,
) -> Step | None:
    """The most likely step for the worse in one series of nightly log values and its
    permutation p-value (None: too short to have two segments of `least` nights)."""
    x = np.asarray(x, dtype=float)
    if not steppable(x, least):
        return None
    w = winsorized(-x if higher_is_better else x)
    observed = _z_by_split(w[None, :], least)[0]
    best = int(np.argmax(observed))
    p = _p_value(w, float(observed[best]), least, permutations, _seed(x))
    at = best + least
    # The step's size: the segments' medians, which one wild night cannot move far.
    return Step(at, float(np.median(x[at:]) - np.median(x[:at])), p)
