"""Set-ups spent where they decide: sequential set-ups (`scenario.max_setups`).

Every case runs `setups` set-ups on every platform. Each set-up past them (up to `max_setups`)
runs for a column only while its verdict against the host on the case's headline metric is still
open after the set-ups before it, and more set-ups could still close it; the host runs it while
any column of the case does. A column that stopped stays stopped.

Why its verdicts stay valid however early it stopped: a design that can stop after `setups`,
`setups + 1`, ... `max_setups` set-ups looks at most `looks = max_setups - setups + 1` times.
Every interval and test of such a case (verdict/stats.Comparison.looks) is taken at 1/looks of
its error rate, so the chance that any one of its looks misses the true cost is at most the
full rate (Bonferroni over the looks: repeated confidence intervals, Jennison and Turnbull), and
what the report shows after the look it stopped at holds at 95% like a fixed design's. The rule
below may then read anything, the cost included, without breaking coverage; tests/test_sequential
checks it by simulation from the measured round, set-up and run components, heavy tails too.

The rule: open while neither "beyond the margin" nor "within it" is shown at this look (the
same tests decide() makes, before the run-wide false-discovery correction), unless the last
set-up could not show either if the cost is what it now seems (_reachable: stochastic
curtailment at the current estimate). Tried and measured in that simulation: judged
optimistically (the cost at its interval's far end), unchanged noisy cells nearly always ran
to the most set-ups (3.9 of 4 for memory and network), more machine time than a fixed design
of three; at the current estimate they take 2.2-2.3, and a 1.3x is found about as often as
with three fixed set-ups.

The gate compares a column with its own baseline run, not with the host, and is not widened:
the set-up count was chosen on another comparison. tests/test_gate_sequential.py checks by
simulation that unchanged pairs of sequential nights fail no more often than fixed ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from triptych.verdict.nested import Borrowed, compare_setups
from triptych.verdict.stats import ALPHA, Comparison

_Z = 1.959963984540054  # the 95% normal quantile: a rough reach for the futility check


@dataclass(frozen=True)
class Design:
    """A case's sequential design: the set-ups every column runs, and the most it may."""

    setups: int
    max_setups: int

    @property
    def looks(self) -> int:
        return self.max_setups - self.setups + 1


def still_open(
    column: Sequence[np.ndarray],
    baseline: Sequence[np.ndarray],
    higher_is_better: bool,
    borrowed: Borrowed,
    design: Design,
) -> bool:
    """Whether a column's verdict after these set-ups is open, and another set-up could close
    it (each array one set-up's rounds of the headline metric)."""
    if len(column) >= design.max_setups:
        return False
    comp = compare_setups(column, baseline, higher_is_better, borrowed, looks=design.looks)
    if not comp.testable or not math.isfinite(comp.se):
        return False  # nothing more set-ups could test
    if comp.p_beyond < ALPHA or comp.p_same < ALPHA:
        return False
    return _reachable(comp, len(column), design.max_setups)


def _reachable(comp: Comparison, setups: int, most: int) -> bool:
    """Whether the last set-up could close the verdict if the cost is what it now seems."""
    if setups < 2:
        return True  # a borrowed spread: the next set-up measures its own
    half_last = _Z * comp.se * math.sqrt(setups / most)
    edge, cost = math.log1p(comp.margin), abs(comp.log_cost)
    return cost - half_last > edge or cost + half_last < edge


@dataclass
class Ledger:
    """The headline metric's rounds of every finished trial of a run, by case, column and
    set-up; and which sequential set-ups still run. Keys are plain strings: the plugin names
    the case ("scenario/case") and the column (instance/variant)."""

    _rounds: dict[str, dict[str, dict[int, np.ndarray]]] = field(default_factory=dict)
    _stopped: dict[tuple[str, str], int] = field(default_factory=dict)
    _higher_is_better: dict[str, bool] = field(default_factory=dict)

    def add(
        self, case: str, column: str, setup: int, values: Sequence[float], higher_is_better: bool
    ) -> None:
        """A finished trial's rounds of the headline metric."""
        if values:
            held = self._rounds.setdefault(case, {}).setdefault(column, {})
            held[setup] = np.asarray(values, dtype=float)
            self._higher_is_better[case] = higher_is_better

    def _before(self, case: str, column: str, setup: int) -> list[np.ndarray]:
        held = self._rounds.get(case, {}).get(column, {})
        return [held[s] for s in sorted(held) if s < setup]

    def column_runs(
        self, case: str, column: str, baseline: str, setup: int, borrowed: Borrowed, design: Design
    ) -> bool:
        """Whether `column` runs set-up `setup` (from 0) of the case."""
        if setup < design.setups:
            return True
        stopped = self._stopped.get((case, column))
        if stopped is not None:
            return setup < stopped
        for look in range(design.setups, setup + 1):
            mine = self._before(case, column, look)
            theirs = self._before(case, baseline, look)
            hib = self._higher_is_better.get(case, True)
            if not mine or not theirs or not still_open(mine, theirs, hib, borrowed, design):
                self._stopped[(case, column)] = look
                return False
        return True

    def baseline_runs(
        self, case: str, baseline: str, setup: int, borrowed: Borrowed, design: Design
    ) -> bool:
        """Whether the baseline runs set-up `setup`: while any column of the case does."""
        others = [c for c in self._rounds.get(case, {}) if c != baseline]
        return setup < design.setups or any(
            self.column_runs(case, c, baseline, setup, borrowed, design) for c in others
        )
