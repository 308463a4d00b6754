"""`triptych noise RUNS`: where the noise of runs with several set-ups comes from, per family and
per metric: rounds, set-ups and runs (verdict/components.py), as standard deviations of log
values (about the relative spread) and the share of rerun noise a fresh set-up re-draws."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from triptych.errors import TriptychError
from triptych.results.labels import labelled
from triptych.results.load import load_runs
from triptych.verdict.components import Components, components


def noise_lines(paths: list[Path]) -> list[str]:
    runs = load_runs(paths)
    if runs.samples.empty:
        raise TriptychError("no samples in those runs; pass runs saved with scenario.setups >= 2")
    found = components(labelled(runs.samples))
    if not found:
        raise TriptychError(
            "no metric was measured on 2 or more set-ups in equal numbers; run a scenario with "
            "setups = 3 (scenarios/setups-study.toml), ideally 3 times"
        )
    lines = ["family     round sd  set-up sd  run sd   fresh share  (medians over metrics)"]
    by_family: dict[str, list[Components]] = {}
    for c in found:
        by_family.setdefault(c.family, []).append(c)
    for family, cs in by_family.items():
        lines.append(
            f"{family:<10} {_sd(cs, 'round_var'):>8} {_sd(cs, 'setup_var'):>10} "
            f"{_sd(cs, 'run_var'):>7}  {_share(cs):>10}"
        )
    lines.append("")
    for c in found:
        lines.append(
            f"{c.case} / {c.metric} / {c.label}: {c.runs} run(s) x {c.setups} set-ups x "
            f"{c.rounds} rounds: sd round {_pct(c.round_var)}, set-up {_pct(c.setup_var)}, "
            f"run {_pct(c.run_var)}; fresh share {_fraction([c.fresh_share])}"
        )
    return lines


def _pct(variance: float) -> str:
    """A variance as a standard deviation ("n/a": unknown, e.g. a run component of one run)."""
    return "n/a" if math.isnan(variance) else f"{math.sqrt(variance):.1%}"


def _median(values: list[float]) -> float:
    known = [v for v in values if not math.isnan(v)]
    return float(statistics.median(known)) if known else math.nan


def _sd(cs: list[Components], name: str) -> str:
    return _pct(_median([float(getattr(c, name)) for c in cs]))


def _fraction(values: list[float]) -> str:
    found = _median(values)
    return "n/a" if math.isnan(found) else f"{found:.2f}"


def _share(cs: list[Components]) -> str:
    return _fraction([c.fresh_share for c in cs])
