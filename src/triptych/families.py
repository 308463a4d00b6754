"""The workload families, declared once: their order in a report and the run-to-run noise the
gate's single-baseline floor rests on. The report, the gate and the workloads read this table.

`run_to_run` is the largest run-to-run spread (standard deviation of a run's mean log value
beyond its rounds' own noise) measured among a family's metrics in unchanged quick runs of our
machine kind (tests/data/history, tests/data/history-services; tests/test_gate_sim.py keeps
each entry at or above what those runs show). Tail latencies (p99 and beyond) of any family are
a noise group of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    run_to_run: float


# In report order.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("cpu", 0.08),
        Family("memory", 0.10),
        Family("disk", 0.34),
        Family("network", 0.15),
        Family("services", 0.26),
        Family("startup", 0.11),
    )
}
TAIL_GROUP = Family("tail", 0.42)
TAIL = re.compile(r"\bp99")


def order(present: set[str]) -> list[str]:
    """Families in report order; any the table does not know (a newer run's) after them."""
    return [f for f in FAMILIES if f in present] + sorted(present - set(FAMILIES))


def noise_group(family: str, metric: str) -> Family:
    """Metrics whose run-to-run noise is alike: a family's, and tail latencies of any family.
    A family this table does not know gets the noisiest group's spread."""
    if TAIL.search(metric):
        return TAIL_GROUP
    noisiest = max([*FAMILIES.values(), TAIL_GROUP], key=lambda f: f.run_to_run)
    return FAMILIES.get(family, Family(family, noisiest.run_to_run))
