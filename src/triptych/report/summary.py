"""The family summary and its trend: each case counted once, through its primary metric.

A family's cell is the geometric mean of its cases' primary-metric costs against the host. It
names the cases it covers and says when they are fewer than the host's, and it carries the
verdicts of those cases, so it is coloured only where findings of the corrected test agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from triptych.verdict.effect import FASTER, SAME, SLOWER, UNDETERMINED, Effect


@dataclass(frozen=True)
class SummaryCell:
    """One family on one platform column."""

    cost: float  # geometric mean of the cases' primary-metric costs
    cases: tuple[str, ...]
    host_cases: int  # how many cases of the family the host has
    verdicts: tuple[str, ...]  # one per case, in `cases` order

    def count(self, verdict: str) -> int:
        return self.verdicts.count(verdict)

    @property
    def direction(self) -> str:
        """SLOWER or FASTER when its cases' findings all point one way and the cell's cost
        points that way too, else "" (one slower case among undetermined ones can sit under a
        geometric mean below 1: a cell must never be coloured against its own figure)."""
        slower, faster = self.count(SLOWER), self.count(FASTER)
        if slower and not faster and self.cost > 1:
            return SLOWER
        return FASTER if faster and not slower and self.cost < 1 else ""

    @property
    def partial(self) -> bool:
        return len(self.cases) < self.host_cases

    @property
    def tally(self) -> str:
        parts = [
            f"{self.count(v)} {v}" for v in (SLOWER, FASTER, SAME, UNDETERMINED) if self.count(v)
        ]
        return ", ".join(parts)


@dataclass(frozen=True)
class Headline:
    """A case's primary metric on one column: its cost against the host and its verdict."""

    family: str
    case: str
    label: str
    effect: Effect


def summarise(
    headlines: Sequence[Headline], host_cases: dict[str, int]
) -> dict[str, dict[str, SummaryCell]]:
    """family -> column label -> its summary cell."""
    grouped: dict[tuple[str, str], list[Headline]] = {}
    for h in headlines:
        if math.isfinite(h.effect.cost) and h.effect.cost > 0:
            grouped.setdefault((h.family, h.label), []).append(h)
    out: dict[str, dict[str, SummaryCell]] = {}
    for (family, label), hs in grouped.items():
        cost = math.exp(sum(math.log(h.effect.cost) for h in hs) / len(hs))
        out.setdefault(family, {})[label] = SummaryCell(
            cost,
            tuple(h.case for h in hs),
            host_cases.get(family, 0),
            tuple(h.effect.verdict for h in hs),
        )
    return out
