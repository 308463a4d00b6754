"""`triptych compare BASELINE CURRENT`: what got significantly worse, as Markdown, for CI gates."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from triptych.errors import TriptychError
from triptych.report.analysis import labelled
from triptych.report.load import Runs, env_key
from triptych.report.stats import ALPHA, Comparison, compare

DEFAULT_THRESHOLD = 0.05


@dataclass(frozen=True)
class Change:
    case: str
    metric: str
    unit: str
    platform: str
    baseline: float
    current: float
    comparison: Comparison
    separated: bool  # every current round is on the worse side of every baseline round
    threshold: float

    @property
    def beyond(self) -> bool:
        return abs(self.comparison.cost - 1) > self.threshold

    @property
    def confident(self) -> bool:
        c = self.comparison
        return (c.p_value < ALPHA and not (c.ci_low <= 1 <= c.ci_high)) or self.separated

    @property
    def regression(self) -> bool:
        return self.comparison.worse and self.beyond and self.confident

    @property
    def improvement(self) -> bool:
        return not self.comparison.worse and self.beyond and self.confident


def parse_thresholds(items: list[str]) -> dict[str, float]:
    """`metric=percent` pairs from the command line."""
    out = {}
    for item in items:
        metric, sep, pct = item.rpartition("=")
        try:
            value = float(pct) / 100
        except ValueError:
            value = -1.0
        if not sep or not metric or value < 0:
            raise TriptychError(
                f"--metric-threshold {item!r}: expected METRIC=PERCENT, "
                'e.g. --metric-threshold "tcp throughput=10"'
            )
        out[metric.strip()] = value
    return out


def _separated(cur: np.ndarray, base: np.ndarray, higher_is_better: bool) -> bool:
    if higher_is_better:
        return bool(cur.max() < base.min())
    return bool(cur.min() > base.max())


def changes(
    baseline: Runs,
    current: Runs,
    default: float = DEFAULT_THRESHOLD,
    per_metric: Mapping[str, float] | None = None,
) -> list[Change]:
    """Every metric present in both, compared current against baseline."""
    per_metric = per_metric or {}
    keys = ["case", "metric", "unit", "higher_is_better", "label"]

    def by_metric(runs: Runs) -> dict[tuple[str, str, str, bool, str], np.ndarray]:
        df = labelled(runs.samples)
        return {
            (str(case), str(metric), str(unit), bool(hib), str(label)): g.value.to_numpy(
                dtype=float
            )
            for (case, metric, unit, hib, label), g in df.groupby(keys, observed=True)
        }

    base, cur = by_metric(baseline), by_metric(current)
    out = []
    for key in sorted(set(base) & set(cur)):
        case, metric, unit, hib, label = key
        b, c = base[key], cur[key]
        if float(np.median(b)) == 0:
            continue  # a ratio to zero (e.g. no retransmits at all) says nothing
        out.append(
            Change(
                case,
                metric,
                unit,
                label,
                float(np.median(b)),
                float(np.median(c)),
                compare(c, b, hib),
                _separated(c, b, hib),
                per_metric.get(metric, default),
            )
        )
    return out


def markdown(found: list[Change], baseline: str, current: str, env_note: str) -> str:
    regressions = [c for c in found if c.regression]
    improvements = [c for c in found if c.improvement]
    lines = [f"## triptych compare: `{baseline}` -> `{current}`", ""]
    if env_note:
        lines += [f"> **Warning:** {env_note}", ""]
    lines.append(
        f"**{len(regressions)} regression(s)**, {len(improvements)} improvement(s), "
        f"{len(found) - len(regressions) - len(improvements)} unchanged "
        f"of {len(found)} metrics compared."
    )
    for title, rows in (("Regressions", regressions), ("Improvements", improvements)):
        if not rows:
            continue
        lines += [
            "",
            f"### {title}",
            "",
            "| case | metric | platform | baseline | current | change | 95% CI | p |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for c in sorted(rows, key=lambda c: -abs(math.log(c.comparison.cost))):
            k = c.comparison
            lines.append(
                f"| {c.case} | {c.metric} | {c.platform} | {c.baseline:.4g} {c.unit} | "
                f"{c.current:.4g} {c.unit} | {k.change * 100:+.1f}% | "
                f"{(k.ci_low - 1) * 100:+.1f}..{(k.ci_high - 1) * 100:+.1f}% | "
                f"{k.p_value:.3g} |"
            )
    return "\n".join(lines) + "\n"


def environment_note(baseline: Runs, current: Runs) -> str:
    """What a reader must know before trusting the comparison (mixed environments, partial)."""
    notes = [
        f"{name} run {r} is PARTIAL (it stopped before its end)"
        for name, runs in (("baseline", baseline), ("current", current))
        for r in sorted(runs.partial)
    ]
    notes += [w for w in [*baseline.warnings, *current.warnings]]
    different = _environments(baseline, current)
    return "; ".join([*([different] if different else []), *notes])


def _environments(baseline: Runs, current: Runs) -> str:
    b = {env_key(m) for m in baseline.machines.values()}
    c = {env_key(m) for m in current.machines.values()}
    if b != c:
        return (
            "baseline and current were taken in different environments "
            f"({'; '.join(sorted(b))} vs {'; '.join(sorted(c))}): differences may not be "
            "regressions"
        )
    return ""
