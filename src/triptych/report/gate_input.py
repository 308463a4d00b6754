"""What the gate reads besides the runs: per-metric thresholds from the command line, and the
notes a reader must see before trusting its verdict."""

from __future__ import annotations

from triptych.errors import TriptychError
from triptych.report.load import Runs


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


def gate_notes(baseline: Runs, current: Runs, lacking: list[str]) -> list[str]:
    """Partial runs, load warnings, what is missing, and how much history there was."""
    notes = [
        f"{name} run {r} is PARTIAL (it stopped before its end)"
        for name, runs in (("baseline", baseline), ("current", current))
        for r in sorted(runs.partial)
    ]
    notes += [*baseline.warnings, *current.warnings]
    if lacking:
        shown = ", ".join(lacking[:20]) + (" ..." if len(lacking) > 20 else "")
        notes.append(f"CURRENT lacks {len(lacking)} metric(s) BASELINE has: {shown}")
    history = baseline.samples.run.nunique()
    if history == 1:
        notes.append(
            "one baseline run: its run-to-run noise is unknown, so each family's conservative "
            "noise floor applies; a BASELINE directory of several runs would sharpen the gate"
        )
    else:
        notes.append(f"baseline history: {history} runs, each one unit")
    return notes
