"""Statistics on saved samples: medians, ratios to host with bootstrap CIs, Mann-Whitney U."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

BOOTSTRAP = 2000
ALPHA = 0.05
CONFIDENCE = 0.95
SEED = 20261128  # fixed: the same runs always render the same report


@dataclass(frozen=True)
class Comparison:
    """One platform against a baseline on one metric."""

    ratio: float  # median(platform) / median(baseline)
    ci_low: float
    ci_high: float
    p_value: float
    n_platform: int
    n_baseline: int
    higher_is_better: bool

    @property
    def change(self) -> float:
        """Relative change of the metric itself: +0.18 is 18% higher."""
        return self.ratio - 1.0

    @property
    def cost(self) -> float:
        """How much worse, oriented by direction: >1 costs more than the baseline."""
        return 1.0 / self.ratio if self.higher_is_better else self.ratio

    @property
    def testable(self) -> bool:
        """Whether the sample sizes can reach significance at all (3 vs 3 cannot)."""
        return min_p_value(self.n_platform, self.n_baseline) < ALPHA

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA and not (self.ci_low <= 1.0 <= self.ci_high)

    @property
    def worse(self) -> bool:
        return self.cost > 1.0


def min_p_value(n1: int, n2: int) -> float:
    """The smallest two-sided Mann-Whitney p-value possible with these sample sizes."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def _bootstrap_ratio(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """Percentile CI of median(a)/median(b), resampling each side's rounds independently."""
    ia = rng.integers(0, len(a), size=(BOOTSTRAP, len(a)))
    ib = rng.integers(0, len(b), size=(BOOTSTRAP, len(b)))
    ma = np.median(a[ia], axis=1)
    mb = np.median(b[ib], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = ma / mb
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return math.nan, math.nan
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


def compare(
    platform: np.ndarray,
    baseline: np.ndarray,
    higher_is_better: bool,
    rng: np.random.Generator | None = None,
) -> Comparison:
    """Ratio of medians with a bootstrap CI, and a two-sided Mann-Whitney U test."""
    a = np.asarray(platform, dtype=float)
    b = np.asarray(baseline, dtype=float)
    rng = rng if rng is not None else np.random.default_rng(SEED)
    mb = float(np.median(b))
    ratio = float(np.median(a)) / mb if mb != 0 else math.nan
    low, high = _bootstrap_ratio(a, b, rng)
    if len(a) > 0 and len(b) > 0 and not (np.all(a == a[0]) and np.all(b == a[0])):
        p = float(st.mannwhitneyu(a, b, alternative="two-sided", method="auto").pvalue)
    else:
        p = 1.0
    return Comparison(ratio, low, high, p, len(a), len(b), higher_is_better)


def cv(values: np.ndarray) -> float:
    """Coefficient of variation (sample standard deviation over mean)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2 or float(np.mean(v)) == 0:
        return 0.0
    return float(np.std(v, ddof=1) / abs(np.mean(v)))
