"""`triptych compare BASELINE CURRENT`: the CI gate. It fails only when a regression is beyond
its threshold and beyond the noise the runs show, with the chance that an unchanged system fails
at all held at 5% (Holm over every metric compared).

Runs are the unit. With a history (a BASELINE directory of several runs of the same machine),
each baseline run contributes its mean, and the current run must lie beyond what the spread of
those run means (moderated towards the family's: gate_stats) predicts for one more run. Against
a single baseline run, a metric both runs measured on two or more fresh set-ups is tested on its
set-up means: the runs measured the noise a rerun re-draws themselves (with what the nested
study found a rerun adds beyond fresh set-ups). With one set-up on either side the run-to-run
noise is unknown: a regression must then also exceed a conservative floor for its family
(floor_of, measured between unchanged runs on our machines), and the output says which metrics
were decided which way.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

import numpy as np

from triptych import families
from triptych.errors import TriptychError
from triptych.families import GROUPS, night_shared
from triptych.gate.metric_series import Key, Series, series
from triptych.gate.stats import (
    Rounds,
    Tests,
    gate_tests,
    noise_tests,
    rerun_redraws,
    setup_tests,
)
from triptych.results.digest import selected_cases
from triptych.results.load import Runs
from triptych.results.run_columns import ENV_KEYS
from triptych.verdict.effect import FASTER, SLOWER, Effect
from triptych.verdict.noise_model import EMPTY, NoiseModel
from triptych.verdict.stats import Comparison, decide

DEFAULT_THRESHOLD = 0.05
# What one baseline run cannot show: how far a whole run moves from night to night, per noise
# group (triptych.families, where each family's measured spread is declared).
RUN_TO_RUN = {g.name: g.run_to_run for g in GROUPS.values()}
# Against one baseline run a change must exceed its floor: what two runs differing only by that
# spread exceed once in ~1000 (3 standard deviations of a difference of two runs).
FLOOR_SIGMAS = 3.0


def noise_group(family: str, metric: str, emulated: bool = True) -> str:
    """Metrics whose run-to-run noise is alike: a family's, and tail latencies of any family
    (the floors, and the variances moderated together in a history, are per group)."""
    return families.noise_group(family, metric, emulated).name


def floor_of(family: str, metric: str, emulated: bool = True) -> float:
    """The noise floor a change must exceed against a single baseline run."""
    spread = families.noise_group(family, metric, emulated).run_to_run
    return math.expm1(FLOOR_SIGMAS * math.sqrt(2) * spread)


SETUPS = "set-ups"  # decided on the runs' own set-up means
FLOOR = "floor"  # one set-up on a side: Welch on rounds and the family's floor
NOISE = "noise"  # one set-up a side, against the spread the machine's own earlier runs showed
HISTORY = "history"  # a history of baseline runs


@dataclass(frozen=True)
class Change:
    case: str
    metric: str
    unit: str
    platform: str
    baseline: float  # median over the baseline's rounds
    current: float
    effect: Effect
    margin: float
    history: int  # baseline runs compared against
    decided_by: str = FLOOR  # SETUPS, FLOOR or HISTORY
    units: tuple[int, int] = (0, 0)  # current's and baseline's units: set-ups, rounds or runs
    family: str = ""

    @property
    def basis(self) -> str:
        """What it was decided on, in the summary's words."""
        cur, base = self.units
        if self.decided_by == HISTORY:
            return f"{base} runs"
        if self.decided_by == SETUPS:
            return f"{cur} vs {base} set-ups"
        if self.decided_by == NOISE:
            return f"{cur} vs {base} rounds, the machine's noise"
        return f"{cur} vs {base} rounds, floor"

    @property
    def regression(self) -> bool:
        return self.effect.verdict == SLOWER

    @property
    def improvement(self) -> bool:
        return self.effect.verdict == FASTER


def how_decided(base: Series, cur: Series, noise: bool = False) -> str:
    """Which test a metric gets: a history's, the set-ups', the machine's noise (`noise`: its
    model has the metric), or the floor's."""
    if len(base.runs) > 1:
        return HISTORY
    if min(len(base.by_setup()), len(cur.by_setup())) >= 2 and len(cur.runs) == 1:
        return SETUPS
    if noise and len(base.by_setup()) == len(cur.by_setup()) == 1 and len(cur.runs) == 1:
        return NOISE
    return FLOOR


@dataclass(frozen=True)
class Sides:
    """Baseline and current, each metric's runs kept apart: read once, used by every check."""

    baseline: Runs
    current: Runs
    base: dict[Key, Series]
    cur: dict[Key, Series]
    # The machine's noise from its earlier runs (`compare --noise DIR`): what one-set-up runs
    # are decided against in place of the family floors where it has the metric.
    noise: NoiseModel = EMPTY

    @classmethod
    def of(cls, baseline: Runs, current: Runs, noise: NoiseModel = EMPTY) -> Sides:
        return cls(baseline, current, series(baseline), series(current), noise)

    def restricted(self, keys: Collection[Key]) -> Sides:
        """Both sides with only these metrics."""
        return replace(
            self,
            base={k: s for k, s in self.base.items() if k in keys},
            cur={k: s for k, s in self.cur.items() if k in keys},
        )


def changes(
    sides: Sides,
    default: float = DEFAULT_THRESHOLD,
    per_metric: Mapping[str, float] | None = None,
    rerun: Collection[Key] | None = None,
) -> list[Change]:
    """Every metric present in both, the current run against the baseline run(s), decided
    together with the family-wise error held at 5% (gate_stats: the arithmetic the simulation
    runs on thousands of nights). The moderated variances of a history draw on every baseline
    metric with one, whichever the current run has.

    Given `rerun` (a rerun's suspected metrics), only those a same-night rerun re-draws enough
    of (stats.rerun_redraws: against a history) are decided, and the Holm family is theirs."""
    per_metric = per_metric or {}
    base, cur = sides.base, sides.cur
    # Counts near zero (retransmits) are not ratios: never gated.
    keys = [
        k
        for k in sorted(set(base) & set(cur))
        if base[k].unit != "count" and (rerun is None or k in rerun)
    ]
    tested = _tested(keys, sides, default, per_metric, rerun)
    decided = [k for k in keys if k in tested]
    effects = decide([tested[k][0] for k in decided], "fwer")
    return [
        Change(
            key[0],
            key[1],
            base[key].unit,
            key[2],
            float(np.median(np.concatenate(list(base[key].runs.values())))),
            float(np.median(np.concatenate(list(cur[key].runs.values())))),
            effect,
            tested[key][0].margin,
            len(base[key].runs),
            tested[key][1],
            (tested[key][0].n_platform, tested[key][0].n_baseline),
            base[key].family,
        )
        for key, effect in zip(decided, effects, strict=True)
    ]


def _tested(
    keys: list[Key],
    sides: Sides,
    default: float,
    per_metric: Mapping[str, float],
    rerun: Collection[Key] | None,
) -> dict[Key, tuple[Comparison, str]]:
    """Each metric's comparison and how it was decided (a rerun's: of those it re-draws)."""
    base, cur = sides.base, sides.cur
    how = [how_decided(base[k], cur[k], sides.noise.get(*k) is not None) for k in keys]
    chosen = set(keys)
    context = [
        k
        for k in sorted(base)
        if k not in chosen and base[k].unit != "count" and len(base[k].runs) > 1
    ]
    tested: dict[Key, tuple[Comparison, str]] = {}
    for kind in (HISTORY, FLOOR, SETUPS, NOISE):
        at = [keys[i] for i, h in enumerate(how) if h == kind]
        if not at or (rerun is not None and kind != HISTORY):
            continue
        tests = _tests(kind, at, sides, default, per_metric, context)
        keep = np.ones(len(at), dtype=bool)
        if rerun is not None:
            night = np.array([night_shared(base[k].family, k[1], base[k].emulated) for k in at])
            keep = rerun_redraws(tests, night)
        for key, comp, kept in zip(at, tests.comparisons(), keep, strict=True):
            if kept:
                tested[key] = (comp, kind)
    return tested


def _tests(
    kind: str,
    keys: list[Key],
    sides: Sides,
    default: float,
    per_metric: Mapping[str, float],
    context: list[Key],
) -> Tests:
    """The tests of the metrics decided one way, as arrays (gate.stats); a history's are
    moderated beside the `context` metrics' (baseline metrics not decided here), whose tests
    are dropped."""
    base, cur = sides.base, sides.cur
    if kind == NOISE:
        return _noise_tests(keys, sides, default, per_metric)
    if kind == SETUPS:
        group, hib, margin = _shape(keys, base, default, per_metric)
        beyond = np.array(
            [families.beyond_setups(base[k].family, k[1], base[k].emulated) for k in keys]
        )
        return setup_tests(
            Rounds.ragged([cur[k].by_setup() for k in keys]),
            Rounds.ragged([base[k].by_setup() for k in keys]),
            group,
            hib,
            margin,
            beyond,
            like_ids([(k, base[k].emulated) for k in keys]),
        )
    every = keys + context if kind == HISTORY else keys
    group, hib, margin = _shape(every, base, default, per_metric)
    history = [[base[k].runs[r] for r in sorted(base[k].runs)] for k in every]
    current = [np.concatenate(list(cur[k].runs.values())) for k in keys]
    tests = gate_tests(
        Rounds.ragged([[c] for c in current] + [[] for _ in context if kind == HISTORY]),
        Rounds.ragged(history),
        group,
        hib,
        margin,
        np.array([floor_of(base[k].family, k[1], base[k].emulated) for k in every], dtype=float),
        like_ids([(k, base[k].emulated) for k in every]),
    )
    return tests.first(len(keys))


def _noise_tests(
    keys: list[Key], sides: Sides, default: float, per_metric: Mapping[str, float]
) -> Tests:
    """Two one-set-up runs against the machine's own noise (gate.stats.noise_tests)."""
    base, cur = sides.base, sides.cur
    group, hib, margin = _shape(keys, base, default, per_metric)
    spreads = [sides.noise.spreads[k] for k in keys]
    return noise_tests(
        Rounds.ragged([list(cur[k].runs.values()) for k in keys]),
        Rounds.ragged([list(base[k].runs.values()) for k in keys]),
        np.array([s.total for s in spreads], dtype=float),
        np.array([s.runs - 1 for s in spreads], dtype=float),
        np.array([s.rounds_var for s in spreads], dtype=float),
        group,
        hib,
        margin,
        FLOOR_SIGMAS,
        like_ids([(k, base[k].emulated) for k in keys]),
    )


def like_ids(keys: list[tuple[Key, bool]]) -> np.ndarray:
    """Each metric's like group (gate.stats.like_prior), numbered: the same metric of the same
    case on the other columns measured alike (natively, or under emulation)."""
    names = [(case, metric, emulated) for (case, metric, _), emulated in keys]
    return np.array([sorted(set(names)).index(n) for n in names], dtype=int)


def _shape(
    keys: list[Key], base: dict[Key, Series], default: float, per_metric: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per metric: its noise group's id, whether higher is better, and its margin."""
    groups = [noise_group(base[k].family, k[1], base[k].emulated) for k in keys]
    group = np.array([sorted(set(groups)).index(g) for g in groups], dtype=int)
    hib = np.array([base[k].higher_is_better for k in keys], dtype=bool)
    margin = np.array([per_metric.get(k[1], default) for k in keys], dtype=float)
    return group, hib, margin


def environment(machine: Mapping[str, object]) -> dict[str, str]:
    """What must match for two runs to be compared: the machine and every tool's version."""
    t = machine.get("triptych", {})
    t = t if isinstance(t, Mapping) else {}
    keys = [*ENV_KEYS, *sorted(k for k in t if str(k).startswith("tool_"))]
    return {k: str(t.get(k, "?")) for k in keys}


def refuse_incomparable(sides: Sides, allow_env_change: bool) -> None:
    """One line and exit 2 for what no verdict can be drawn from: another environment (unless
    allowed), a metric whose unit or direction changed."""
    machines = (*sides.baseline.machines.values(), *sides.current.machines.values())
    envs = [environment(m) for m in machines]
    if not allow_env_change:
        for name in envs[0] if envs else {}:
            seen = sorted({e.get(name, "?") for e in envs})
            if len(seen) > 1:
                raise TriptychError(
                    f"baseline and current were taken in different environments ({name}: "
                    f"{' vs '.join(seen)}); compare runs of one machine, or pass "
                    "--allow-env-change to compare anyway"
                )
    base, cur = sides.base, sides.cur
    for key in sorted(set(base) & set(cur)):
        b, c = base[key], cur[key]
        if (b.unit, b.higher_is_better) != (c.unit, c.higher_is_better):
            raise TriptychError(
                f"{' / '.join(key)}: the unit or direction changed ({b.unit}, "
                f"{'higher' if b.higher_is_better else 'lower'} is better -> {c.unit}, "
                f"{'higher' if c.higher_is_better else 'lower'} is better); compare it against "
                "a baseline taken with the same workload version"
            )


def missing(sides: Sides) -> list[str]:
    """Cases, columns and metrics the baseline has and the current run lacks (of a run limited
    to some cases, `--triptych-cases`, only of those)."""
    chosen = {c for m in sides.current.machines.values() for c in selected_cases(m)}
    return [
        f"{case} / {metric} / {label}"
        for case, metric, label in sorted(set(sides.base) - set(sides.cur))
        if not chosen or case in chosen
    ]
