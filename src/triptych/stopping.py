"""When a set-up has run enough rounds (adaptive rounds, `max_rounds` in a scenario).

Rounds narrow only the round-to-round part of a set-up's mean; the part a fresh set-up re-draws
(as large as the round part in the nested study, tests/data/nested) is not touched by more
rounds, and it is what the report's intervals rest on (verdict/nested.py). So a set-up stops
adding rounds once the standard error of its mean log value from its rounds is at most
SETUP_SHARE of its family's set-up spread (families.Family.setup_default): more rounds could
then narrow the cell's interval by at most about 10%. Machine time goes to set-ups instead.

With `target_ci` given, a set-up stops once the 95% half-width of its rounds' mean log value is
under it (a precision the user asked for). Either way the rule reads only the rounds' spread,
never the platform's cost, and the report's interval does not rest on the rounds alone: by
simulation through this function and the report's comparison (tests/test_stopping.py), its 95%
intervals cover at every design the shipped scenarios use, however early the rounds stopped.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from scipy.special import stdtrit

SETUP_SHARE = 0.5  # the rounds' standard error, as a share of the set-up spread, that is enough


def ci_halfwidth(values: Sequence[float]) -> float:
    """Half-width of the 95% t confidence interval of the mean log value, as a fraction
    (expm1 of it): on logs, as the report tests, so a round's cost is relative whichever way
    the metric runs. Infinite when it has no meaning (fewer than 2 rounds, a value <= 0)."""
    n = len(values)
    if n < 2 or any(v <= 0 for v in values):
        return math.inf
    logs = [math.log(v) for v in values]
    return math.expm1(float(stdtrit(n - 1, 0.975)) * statistics.stdev(logs) / math.sqrt(n))


def round_se(values: Sequence[float]) -> float:
    """The standard error of the rounds' mean log value (infinite with fewer than 2 rounds or
    a value <= 0)."""
    n = len(values)
    if n < 2 or any(v <= 0 for v in values):
        return math.inf
    return statistics.stdev([math.log(v) for v in values]) / math.sqrt(n)


def precise(values: Sequence[float], target_ci: float | None, setup_sd: float) -> bool:
    """Whether the rounds so far are precise enough: under `target_ci` when one is given,
    else a standard error within SETUP_SHARE of the set-up spread."""
    if target_ci is not None:
        return ci_halfwidth(values) <= target_ci
    return round_se(values) <= SETUP_SHARE * setup_sd


def more_rounds(
    done: int,
    values: Sequence[float],
    least: int,
    most: int,
    target_ci: float | None,
    setup_sd: float,
) -> bool:
    """Whether a set-up that has run `done` rounds (whose first metric read `values`) runs
    another: fewer than `least`, or not yet precise and fewer than `most`."""
    if done < least:
        return True
    return done < most and not precise(values, target_ci, setup_sd)
