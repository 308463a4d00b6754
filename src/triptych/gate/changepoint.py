"""Change points in a metric's nightly series (issue 23; Apache Otava's split test with a
minimum segment length, calibrated by permutation).

Each night is one value: the log of that night's mean. For every split of the series into an
earlier and a later segment, each at least MIN_SEGMENT nights long, Welch-free two-sample t
(pooled within-segment variance) measures the step; the statistic is the largest |t| over the
splits. Before that the series is winsorized at its median +- WINSOR robust standard deviations
(1.4826 MAD): one wild night is clipped to a bound that a segment of MIN_SEGMENT ordinary
nights around it cannot be moved far by, while a real step, which moves every night of its
segment, still stands out. The p-value is the statistic's rank among the same statistic on
PERMUTATIONS random orders of the same nights: exact under "no change" (the nights
exchangeable) whatever their distribution, heavy tails included. The metrics of a night are
then decided together, Holm's family-wise 5% (verdict.stats.adjust), so at most 5% of unchanged
nights alarm on any metric of a machine; the simulation in tests/test_changepoint.py measures
it with Gaussian and Student-t(3) night effects drawn from this machine's measured spreads.

The permutations are drawn from a generator seeded by the series itself: the same history
gives the same verdict on every rerun of the gate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

MIN_SEGMENT = 3  # nights on each side: a step is seen on its third night, a spike never alone
WINSOR = 3.0  # robust standard deviations from the median beyond which a night is clipped
PERMUTATIONS = 4999


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


def _t_by_split(x: np.ndarray, least: int) -> np.ndarray:
    """|t| of every split k in [least, n - least] for each row of x (rows: orders of one
    series), as (rows, splits)."""
    n = x.shape[-1]
    k = np.arange(least, n - least + 1)
    c1 = np.cumsum(x, axis=-1)
    c2 = np.cumsum(x * x, axis=-1)
    s_before, q_before = c1[..., k - 1], c2[..., k - 1]
    s_all, q_all = c1[..., -1:], c2[..., -1:]
    s_after, q_after = s_all - s_before, q_all - q_before
    m_before, m_after = s_before / k, s_after / (n - k)
    ss = (q_before - s_before * m_before) + (q_after - s_after * m_after)
    var = np.maximum(ss, 0.0) / (n - 2)
    se = np.sqrt(var * (1.0 / k + 1.0 / (n - k)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(m_after - m_before) / se
    # Every night equal within a segment and a step between: infinitely clear, not NaN.
    return np.where(se > 0, t, np.where(m_after != m_before, np.inf, 0.0))


def _seed(x: np.ndarray) -> int:
    return int.from_bytes(hashlib.sha256(np.ascontiguousarray(x).tobytes()).digest()[:8], "big")


def step(x: np.ndarray, least: int = MIN_SEGMENT, permutations: int = PERMUTATIONS) -> Step | None:
    """The most likely step in one series and its permutation p-value (None: too short to have
    two segments of `least` nights)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 2 * least or not np.all(np.isfinite(x)):
        return None
    w = winsorized(x)
    observed = _t_by_split(w[None, :], least)[0]
    best = int(np.argmax(observed))
    rng = np.random.default_rng(_seed(x))
    orders = rng.permuted(np.broadcast_to(w, (permutations, n)), axis=1)
    null = _t_by_split(orders, least).max(axis=1)
    p = (1.0 + float(np.sum(null >= observed[best]))) / (permutations + 1.0)
    at = best + least
    # The step's size: the segments' medians, which one wild night cannot move far.
    return Step(at, float(np.median(x[at:]) - np.median(x[:at])), p)
