"""`triptych compare BASELINE CURRENT`: the CI gate. It fails only when a regression is beyond
its threshold and beyond the noise the runs show, with the chance that an unchanged system fails
at all held at 5% (Holm over every metric compared).

Runs are the unit. With a history (a BASELINE directory of several runs of the same machine),
each baseline run contributes its mean, and the current run must lie beyond what the spread of
those run means predicts for one more run. With a single baseline run the run-to-run noise is
unknown: a regression must then also exceed a conservative floor for its family (NOISE_FLOORS,
measured between unchanged runs on our machines), and the output says a history would sharpen it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from triptych.errors import TriptychError
from triptych.report.analysis import labelled
from triptych.report.effect import FASTER, SLOWER, Effect, describe
from triptych.report.load import ENV_KEYS, Runs
from triptych.report.stats import Comparison, compare, decide

DEFAULT_THRESHOLD = 0.05
# Run-to-run spread that a single baseline run cannot show, per family: the margin a change must
# exceed when there is no history (see the README, "The CI gate", for how these were measured).
NOISE_FLOORS = {"cpu": 0.10, "memory": 0.15, "disk": 0.40, "network": 0.40, "startup": 0.40}
DEFAULT_FLOOR = 0.40

Key = tuple[str, str, str]  # case, metric, column label


@dataclass(frozen=True)
class Series:
    """One metric of one column across runs: each run's rounds."""

    family: str
    unit: str
    higher_is_better: bool
    runs: dict[str, np.ndarray]  # run -> its rounds' values


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

    @property
    def regression(self) -> bool:
        return self.effect.verdict == SLOWER

    @property
    def improvement(self) -> bool:
        return self.effect.verdict == FASTER


def series(runs: Runs) -> dict[Key, Series]:
    """Every metric of every column, with each run's rounds kept apart (never pooled)."""
    df = labelled(runs.samples)
    out: dict[Key, Series] = {}
    keys = ["case", "metric", "label", "family", "unit", "higher_is_better", "run"]
    for (case, metric, label, family, unit, hib, run), g in df.groupby(keys, observed=True):
        key = (str(case), str(metric), str(label))
        s = out.setdefault(key, Series(str(family), str(unit), bool(hib), {}))
        s.runs[str(run)] = g.value.to_numpy(dtype=float)
    return out


@dataclass(frozen=True)
class Sides:
    """Baseline and current, each metric's runs kept apart: read once, used by every check."""

    baseline: Runs
    current: Runs
    base: dict[Key, Series]
    cur: dict[Key, Series]

    @classmethod
    def of(cls, baseline: Runs, current: Runs) -> Sides:
        return cls(baseline, current, series(baseline), series(current))


def history_compare(
    current: np.ndarray, baseline_runs: list[np.ndarray], higher_is_better: bool, margin: float
) -> Comparison:
    """The current run's mean log value against the means of several baseline runs: the
    spread of those run means predicts where one more unchanged run falls (df = runs - 1)."""
    if (current <= 0).any() or any((b <= 0).any() for b in baseline_runs):
        return Comparison(math.nan, math.nan, 0.0, current.size, len(baseline_runs), margin)
    means = np.array([float(np.log(b).mean()) for b in baseline_runs])
    diff = float(np.log(current).mean() - means.mean())
    k = means.size
    se = float(means.std(ddof=1)) * math.sqrt(1 + 1 / k) if k > 1 else math.nan
    return Comparison(
        -diff if higher_is_better else diff, se, float(k - 1), current.size, k, margin
    )


def changes(
    sides: Sides,
    default: float = DEFAULT_THRESHOLD,
    per_metric: Mapping[str, float] | None = None,
) -> list[Change]:
    """Every metric present in both, the current run against the baseline run(s), decided
    together with the family-wise error held at 5%."""
    per_metric = per_metric or {}
    base, cur = sides.base, sides.cur
    found: list[tuple[Key, Series, np.ndarray, list[np.ndarray], float, Comparison]] = []
    for key in sorted(set(base) & set(cur)):
        b, c = base[key], cur[key]
        if b.unit == "count":
            continue  # counts near zero (retransmits) are not ratios
        current_rounds = np.concatenate(list(c.runs.values()))
        history = [b.runs[r] for r in sorted(b.runs)]
        margin = per_metric.get(key[1], default)
        if len(history) == 1:
            margin = max(margin, NOISE_FLOORS.get(b.family, DEFAULT_FLOOR))
            comp = compare(current_rounds, history[0], b.higher_is_better, margin)
        else:
            comp = history_compare(current_rounds, history, b.higher_is_better, margin)
        found.append((key, b, current_rounds, history, margin, comp))
    effects = decide([f[-1] for f in found], "fwer")
    return [
        Change(
            key[0],
            key[1],
            b.unit,
            key[2],
            float(np.median(np.concatenate(history))),
            float(np.median(current_rounds)),
            effect,
            margin,
            len(history),
        )
        for (key, b, current_rounds, history, margin, _), effect in zip(found, effects, strict=True)
    ]


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
    """Cases, columns and metrics the baseline has and the current run lacks."""
    return [
        f"{case} / {metric} / {label}"
        for case, metric, label in sorted(set(sides.base) - set(sides.cur))
    ]


def markdown(found: list[Change], baseline: str, current: str, notes: list[str]) -> str:
    regressions = [c for c in found if c.regression]
    improvements = [c for c in found if c.improvement]
    lines = [f"## triptych compare: `{baseline}` -> `{current}`", ""]
    lines += [*(f"> **Note:** {n}" for n in notes), ""]
    lines.append(
        f"**{len(regressions)} regression(s)**, {len(improvements)} improvement(s) "
        f"of {len(found)} metrics compared (family-wise error 5%)."
    )
    for title, rows in (("Regressions", regressions), ("Improvements", improvements)):
        if not rows:
            continue
        lines += [
            "",
            f"### {title}",
            "",
            "| case | metric | platform | baseline | current | effect | margin | runs |",
            "|---|---|---|---:|---:|---|---:|---:|",
        ]
        for c in sorted(rows, key=lambda c: -abs(math.log(c.effect.cost))):
            lines.append(
                f"| {c.case} | {c.metric} | {c.platform} | {c.baseline:.4g} {c.unit} | "
                f"{c.current:.4g} {c.unit} | {describe(c.effect)} | {c.margin:.0%} | "
                f"{c.history} |"
            )
    return "\n".join(lines) + "\n"
