"""One vocabulary of effect, everywhere: cost oriented by the metric's direction.

A cost of 1.8 reads "1.80x slower" whether the metric is a throughput (the platform does 1/1.8 of
the host's work) or a latency (it takes 1.8 times as long); a cost of 1/1.12 reads "1.12x
faster". Counts near zero (retransmits) are never ratios: they read as a difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SAME, SLOWER, FASTER, UNDETERMINED, UNTESTABLE = (
    "same",
    "slower",
    "faster",
    "undetermined",
    "untestable",
)


def factor(cost: float) -> str:
    """ "1.80x slower", "1.12x faster", "parity": the cost as a factor with its direction."""
    if not math.isfinite(cost) or cost <= 0:
        return "n/a"
    if abs(math.log(cost)) < 0.0005:
        return "parity"
    return f"{cost:.2f}x slower" if cost > 1 else f"{1 / cost:.2f}x faster"


def span(low: float, high: float) -> str:
    """A cost interval in the same words: "1.71-1.90x slower", "1.05x faster to 1.02x slower"."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval"
    if low >= 1:
        return f"{low:.2f}-{high:.2f}x slower"
    if high <= 1:
        return f"{1 / high:.2f}-{1 / low:.2f}x faster"
    return f"{1 / low:.2f}x faster to {high:.2f}x slower"


@dataclass(frozen=True)
class Effect:
    """What one comparison concluded, ready to be said."""

    verdict: str  # SLOWER, FASTER, SAME, UNDETERMINED or UNTESTABLE
    cost: float  # point estimate, > 1 costs more than the baseline
    low: float  # confidence interval of the cost
    high: float
    margin: float  # the practical margin, e.g. 0.02
    detectable: float  # the smallest cost this data could have called slower (undetermined)

    @property
    def finding(self) -> bool:
        """Only findings are coloured and counted as slower or faster."""
        return self.verdict in (SLOWER, FASTER)


def describe(e: Effect) -> str:
    """The one sentence a reader sees, in the report, the gate and the terminal."""
    if e.verdict == UNTESTABLE:
        return f"{factor(e.cost)} (too few rounds to test)"
    if e.verdict in (SLOWER, FASTER):
        return f"{factor(e.cost)} ({span(e.low, e.high)})"
    if e.verdict == SAME:
        return f"the same within {e.margin:.0%} ({span(e.low, e.high)})"
    return f"undetermined: {factor(e.cost)} ({span(e.low, e.high)}){could_detect(e.detectable)}"


NOISY_FROM = 2.0  # a smallest detectable cost from here on: say it is too noisy, plainly
SHOWN_UP_TO = 100.0  # and never print a figure beyond this (21315.01x helps no one)


def could_detect(detectable: float) -> str:
    """What the data could have detected, in words a reader can act on ("" where nothing
    useful can be said)."""
    if not math.isfinite(detectable) or detectable >= NOISY_FROM:
        bound = min(detectable, SHOWN_UP_TO) if math.isfinite(detectable) else SHOWN_UP_TO
        return f"; too noisy to detect anything under {bound:.0f}x: add set-ups"
    if detectable <= 1:
        return ""
    return f"; it could have detected {factor(detectable)} or more"


def count_difference(platform: float, baseline: float, unit: str) -> str:
    """Counts near zero (retransmits) as counts: "+1373 count (2 -> 1375)"."""
    return f"{platform - baseline:+.4g} {unit} ({baseline:.4g} -> {platform:.4g})"
