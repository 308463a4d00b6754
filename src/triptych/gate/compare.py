"""`triptych compare BASELINE CURRENT`: the CI gate. It fails only when a regression is beyond
its threshold and beyond the noise the runs show, with the chance that an unchanged system fails
at all held at 5% (Holm over every metric compared).

Runs are the unit. With a history (a BASELINE directory of several runs of the same machine),
each baseline run contributes its mean, and the current run must lie beyond what the spread of
those run means (moderated towards the family's: gate_stats) predicts for one more run. With a
single baseline run the run-to-run noise is unknown: a regression must then also exceed a
conservative floor for its family (floor_of, measured between unchanged runs on our machines),
and the output says a history would sharpen it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from triptych import families
from triptych.errors import TriptychError
from triptych.families import GROUPS
from triptych.gate.stats import Rounds, gate_tests
from triptych.results.labels import labelled
from triptych.results.load import ENV_KEYS, Runs
from triptych.verdict.effect import FASTER, SLOWER, Effect, describe
from triptych.verdict.stats import decide

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


Key = tuple[str, str, str]  # case, metric, column label


@dataclass(frozen=True)
class Series:
    """One metric of one column across runs: each run's rounds."""

    family: str
    unit: str
    higher_is_better: bool
    runs: dict[str, np.ndarray]  # run -> its rounds' values
    emulated: bool = True  # measured under emulation (its noise group may differ)


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
    keys = ["case", "metric", "label", "family", "unit", "higher_is_better", "emulated", "run"]
    for (case, metric, label, family, unit, hib, emu, run), g in df.groupby(keys, observed=True):
        key = (str(case), str(metric), str(label))
        s = out.setdefault(key, Series(str(family), str(unit), bool(hib), {}, bool(emu)))
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


def changes(
    sides: Sides,
    default: float = DEFAULT_THRESHOLD,
    per_metric: Mapping[str, float] | None = None,
) -> list[Change]:
    """Every metric present in both, the current run against the baseline run(s), decided
    together with the family-wise error held at 5% (gate_stats: the arithmetic the simulation
    runs on thousands of nights)."""
    per_metric = per_metric or {}
    base, cur = sides.base, sides.cur
    keys = [k for k in sorted(set(base) & set(cur)) if base[k].unit != "count"]
    # Counts near zero (retransmits) are not ratios: never gated.
    history = [[base[k].runs[r] for r in sorted(base[k].runs)] for k in keys]
    current = [np.concatenate(list(cur[k].runs.values())) for k in keys]
    groups = [noise_group(base[k].family, k[1], base[k].emulated) for k in keys]
    tests = gate_tests(
        Rounds.ragged([[c] for c in current]),
        Rounds.ragged(history),
        np.array([sorted(set(groups)).index(g) for g in groups], dtype=int),
        np.array([base[k].higher_is_better for k in keys], dtype=bool),
        np.array([per_metric.get(k[1], default) for k in keys], dtype=float),
        np.array([floor_of(base[k].family, k[1], base[k].emulated) for k in keys], dtype=float),
    )
    comparisons = tests.comparisons()
    effects = decide(comparisons, "fwer")
    return [
        Change(
            key[0],
            key[1],
            base[key].unit,
            key[2],
            float(np.median(np.concatenate(runs))),
            float(np.median(now)),
            effect,
            comp.margin,
            len(runs),
        )
        for key, runs, now, comp, effect in zip(
            keys, history, current, comparisons, effects, strict=True
        )
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


# What Markdown (GitHub's, in a step summary) would read as markup or HTML, and its escape.
_MARKUP = {c: f"\\{c}" for c in "\\`*_[]|#!~"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def md(text: object) -> str:
    """A string we did not write (a case, metric or run name, a path, a warning), safe in a
    Markdown table cell or line: on one line, every markup character and HTML escaped. Each line
    the gate prints starts with its own text, so none can start a workflow command (`::`)."""
    one_line = _CONTROL.sub(" ", str(text))
    return "".join(_MARKUP.get(ch, ch) for ch in one_line)


def markdown(found: list[Change], baseline: str, current: str, notes: list[str]) -> str:
    regressions = [c for c in found if c.regression]
    improvements = [c for c in found if c.improvement]
    lines = [f"## triptych compare: {md(baseline)} -> {md(current)}", ""]
    lines += [*(f"> **Note:** {md(n)}" for n in notes), ""]
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
                f"| {md(c.case)} | {md(c.metric)} | {md(c.platform)} | "
                f"{c.baseline:.4g} {md(c.unit)} | {c.current:.4g} {md(c.unit)} | "
                f"{md(describe(c.effect))} | {c.margin:.0%} | {c.history} |"
            )
    return "\n".join(lines) + "\n"
