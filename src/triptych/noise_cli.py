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
            f"{family:<10} {_sd(cs, 'round_var'):>8.1%} {_sd(cs, 'setup_var'):>10.1%} "
            f"{_sd(cs, 'run_var'):>7.1%}  {_share(cs):>10}"
        )
    lines.append("")
    for c in found:
        share = f"{c.fresh_share:.2f}" if c.fresh_share == c.fresh_share else "n/a"
        lines.append(
            f"{c.case} / {c.metric} / {c.label}: {c.runs} run(s) x {c.setups} set-ups x "
            f"{c.rounds} rounds: sd round {c.round_var**0.5:.1%}, set-up {c.setup_var**0.5:.1%}, "
            f"run {c.run_var**0.5:.1%}; fresh share {share}"
        )
    return lines


def _sd(cs: list[Components], name: str) -> float:
    variance = float(statistics.median(float(getattr(c, name)) for c in cs))
    return math.sqrt(variance)


def _share(cs: list[Components]) -> str:
    shares = [c.fresh_share for c in cs if c.fresh_share == c.fresh_share]
    return f"{statistics.median(shares):.2f}" if shares else "n/a"
