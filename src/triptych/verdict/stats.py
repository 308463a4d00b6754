"""Comparing a platform's rounds with a baseline's: a Welch t-test on log values.

Why logs and t: benchmark figures are positive and their noise is multiplicative, so the log
of the cost is the difference of two means, its interval is exact for log-normal rounds at any n
(a percentile bootstrap of 3 rounds covers ~90%, not 95%), ties are harmless (no ranks), and a
large steady effect is a finding at 3 rounds where a rank test can never go below p = 0.1.

A finding needs more than a difference: the cost must be beyond a practical margin (2% by
default), tested one-sided against that margin, and the p-values of a run are corrected for how
many comparisons it makes (`decide`: Benjamini-Hochberg in the report, Holm in the gate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtr, stdtrit  # Student's t CDF and its inverse (light to import)

from triptych.verdict.effect import FASTER, SAME, SLOWER, UNDETERMINED, UNTESTABLE, Effect

ALPHA = 0.05
MARGIN = 0.02
POWER = 0.80  # for the smallest detectable effect of an undetermined comparison
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Comparison:
    """One platform against a baseline on one metric, on the log scale, oriented as cost."""

    log_cost: float  # mean log cost: > 0 costs more than the baseline
    se: float  # its standard error (Welch)
    df: float  # Welch-Satterthwaite degrees of freedom
    n_platform: int
    n_baseline: int
    margin: float
    # How many times a sequential design could have looked at it (verdict/sequential.py): its
    # interval and tests hold at 1/looks of their error rate, so whenever it stopped they hold
    # at the full one (Bonferroni over the looks: repeated confidence intervals).
    looks: int = 1

    @property
    def testable(self) -> bool:
        """Two rounds a side at least: a spread to test against."""
        return min(self.n_platform, self.n_baseline) >= 2 and math.isfinite(self.log_cost)

    @property
    def cost(self) -> float:
        return math.exp(self.log_cost) if math.isfinite(self.log_cost) else math.nan

    def interval(self, confidence: float = CONFIDENCE) -> tuple[float, float]:
        """The cost's confidence interval (two-sided)."""
        if not self.testable:
            return math.nan, math.nan
        half = float(stdtrit(self.df, 1 - (1 - confidence) / (2 * self.looks))) * self.se
        return math.exp(self.log_cost - half), math.exp(self.log_cost + half)

    def _tail(self, x: float) -> float:
        """P(T > x) under the t distribution of this comparison."""
        return float(upper_tail(np.array(x), np.array(self.se), np.array(self.df)))

    @property
    def p_beyond(self) -> float:
        """p of "the cost is beyond the margin in the observed direction" (one-sided)."""
        if not self.testable:
            return 1.0
        return min(1.0, self.looks * self._tail(abs(self.log_cost) - math.log1p(self.margin)))

    @property
    def p_same(self) -> float:
        """p of "the cost lies within the margin" (two one-sided tests)."""
        if not self.testable:
            return 1.0
        return min(1.0, self.looks * self._tail(math.log1p(self.margin) - abs(self.log_cost)))

    def detectable(self, alpha: float) -> float:
        """The smallest cost this comparison would call slower at `alpha` with 80% power."""
        if not self.testable:
            return math.inf
        t = float(stdtrit(self.df, 1 - alpha / self.looks)) + float(stdtrit(self.df, POWER))
        reach = math.log1p(self.margin) + t * self.se
        return math.exp(reach) if reach < 700 else math.inf  # beyond a float: nothing detectable


def welch_log(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's t on log values, along the last axis (so a simulation of many runs and metrics
    goes through the same arithmetic as one comparison): mean log difference a - b, its
    standard error and degrees of freedom."""
    la, lb = np.log(a), np.log(b)
    na, nb = la.shape[-1], lb.shape[-1]
    va = la.var(axis=-1, ddof=1) / na
    vb = lb.var(axis=-1, ddof=1) / nb
    se2 = va + vb
    with np.errstate(divide="ignore", invalid="ignore"):
        df = se2**2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    df = np.where(se2 > 0, df, float(na + nb - 2))
    return la.mean(axis=-1) - lb.mean(axis=-1), np.sqrt(se2), df


def upper_tail(x: np.ndarray, se: np.ndarray, df: np.ndarray) -> np.ndarray:
    """P(T * se > x) for Welch's t, vectorised; with zero spread the answer is certain."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stdtr(df, -(x / se))  # the upper tail
    return np.where(se > 0, p, np.where(x > 0, 0.0, 1.0))


def beyond_p(
    log_cost: np.ndarray, se: np.ndarray, df: np.ndarray, margin: float | np.ndarray
) -> np.ndarray:
    """p of "the cost is beyond the margin in its observed direction" (one-sided), vectorised:
    what Comparison.p_beyond computes for one comparison, for a simulation's arrays."""
    return upper_tail(np.abs(log_cost) - np.log1p(margin), se, df)


def compare(
    platform: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    higher_is_better: bool,
    margin: float = MARGIN,
) -> Comparison:
    """Welch's t on log values; the cost is oriented by the metric's direction."""
    a = np.asarray(platform, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if a.size == 0 or b.size == 0 or (a <= 0).any() or (b <= 0).any():
        return Comparison(math.nan, math.nan, 0.0, a.size, b.size, margin)
    if a.size < 2 or b.size < 2:
        diff = float(np.log(a).mean() - np.log(b).mean())
        return Comparison(
            -diff if higher_is_better else diff, math.nan, 0.0, a.size, b.size, margin
        )
    d, se, df = (float(x) for x in welch_log(a, b))
    return Comparison(-d if higher_is_better else d, se, df, a.size, b.size, margin)


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """p-values adjusted for multiplicity along the last axis: "fdr" (Benjamini-Hochberg) or
    "fwer" (Holm). NaN marks a comparison not made: it stays NaN and is not counted."""
    m = np.isfinite(p).sum(axis=-1, keepdims=True)
    order = np.argsort(p, axis=-1)  # NaN sorts last
    ranked = np.take_along_axis(p, order, axis=-1)
    rank = np.arange(1, p.shape[-1] + 1)
    if method == "fdr":
        adj = np.flip(np.fmin.accumulate(np.flip(ranked * m / rank, -1), axis=-1), -1)
    elif method == "fwer":
        adj = np.fmax.accumulate(ranked * (m - rank + 1), axis=-1)
    else:
        raise ValueError(f"unknown multiplicity method {method!r}")
    adj = np.where(np.isfinite(ranked), np.minimum(adj, 1.0), np.nan)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=-1)
    return out


def adjusted(p_values: Sequence[float], method: str) -> list[float]:
    """adjust() for one list of p-values."""
    return [float(x) for x in adjust(np.asarray(p_values, dtype=float), method)]


def decide(
    comparisons: Sequence[Comparison], method: str = "fdr", alpha: float = ALPHA
) -> list[Effect]:
    """Three verdicts for a set of comparisons made together (one run, or one gate):
    slower/faster when the corrected test puts the cost beyond the margin, the same when the
    (1 - 2 alpha) interval lies within it, undetermined otherwise."""
    testable = [c for c in comparisons if c.testable]
    adj = iter(adjusted([c.p_beyond for c in testable], method))
    per_test = alpha / max(1, len(testable))  # what the strictest rank must reach
    effects = []
    for c in comparisons:
        if not c.testable:
            effects.append(Effect(UNTESTABLE, c.cost, math.nan, math.nan, c.margin, math.inf))
            continue
        low, high = c.interval()
        if next(adj) < alpha:
            verdict = SLOWER if c.log_cost > 0 else FASTER
        elif c.p_same < alpha:
            verdict = SAME
        else:
            verdict = UNDETERMINED
        effects.append(Effect(verdict, c.cost, low, high, c.margin, c.detectable(per_test)))
    return effects


def cv(values: np.ndarray) -> float:
    """Coefficient of variation (sample standard deviation over mean)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2 or float(np.mean(v)) == 0:
        return 0.0
    return float(np.std(v, ddof=1) / abs(np.mean(v)))
