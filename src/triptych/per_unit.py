"""A case's primary figure as time per unit of work: what pytest-benchmark's table shows.

pytest-benchmark times rounds; most workloads run for a fixed time, so every platform's rounds
take the same wall time and the table would call them equal. Its stats carry instead the primary
metric as seconds per unit: a rate (events/s, bogo-ops/s, IOPS, MiB/s, Gbit/s) as 1 / rate, a
latency or a time as itself, in seconds. Its OPS column is then the rate (events/s, IOPS...).
"""

from __future__ import annotations

from collections.abc import Sequence

from triptych.record import Round

TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def work_of(unit: str) -> str:
    """A rate's unit of work ("Gbit/s": "Gbit", "IOPS": "I/O"); "" where it is not a rate."""
    if unit == "IOPS":
        return "I/O"
    return unit.removesuffix("/s") if unit.endswith("/s") and len(unit) > 2 else ""


def seconds_per_unit(value: float, unit: str, higher_is_better: bool) -> float | None:
    """The figure in seconds per unit of work; None when it is neither a rate nor a time."""
    if higher_is_better:
        return 1.0 / value if work_of(unit) and value > 0 else None
    scale = TIME_UNITS.get(unit)
    return value * scale if scale is not None and value >= 0 else None


def describe_measure(metric: str, unit: str, higher_is_better: bool) -> str:
    """What the stats are, in words, for the record."""
    if higher_is_better:
        return f"seconds per unit of {metric} (1 / {unit}); OPS is {unit}"
    return f"{metric} in seconds (from {unit})"


def per_round(rounds: Sequence[Round], metric: str) -> list[float] | None:
    """Each round's primary figure in seconds per unit, in round order; None unless every
    round has exactly one convertible figure."""
    values: list[float] = []
    for r in sorted(rounds, key=lambda r: r.number):
        figures = [
            seconds_per_unit(s.value, s.unit, s.higher_is_better)
            for s in r.samples
            if s.metric == metric
        ]
        if len(figures) != 1 or figures[0] is None:
            return None
        values.append(figures[0])
    return values or None
