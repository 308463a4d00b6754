"""The workload families, declared once: their order in a report and the run-to-run noise the
gate's single-baseline floor rests on. The report, the gate and the workloads read this table.

`run_to_run` is the largest run-to-run spread (standard deviation of a run's mean log value
beyond its rounds' own noise) measured among a family's metrics in unchanged quick runs of our
machine kind (tests/data/history, tests/data/history-services; tests/test_gate_sim.py keeps
each entry at or above what those runs show). Tail latencies (p99 and beyond) of any family are
a noise group of their own.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    run_to_run: float
    # Its spread on platforms measured natively, where emulation (a VM under TCG) makes the
    # family far noisier than elsewhere (None: one spread for all).
    native: float | None = None
    # The set-up variance a one-set-up interval borrows where the machine has no history of
    # its own (standard deviation of a set-up's mean log value): the largest of run_to_run and
    # every set-up spread of the family's metrics in the nested study (tests/data/nested).
    setup: float = 0.0
    # What a rerun adds beyond fresh set-ups on a native platform (standard deviation of a
    # run's mean log value that its own set-ups cannot show): the largest run component of the
    # family's metrics in the nested study (host and containers), rounded up; unmeasured (None),
    # and under emulation, the whole run-to-run spread (beyond_setups).
    rerun: float | None = None

    @property
    def setup_default(self) -> float:
        return max(self.setup, self.run_to_run)


# In report order.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("cpu", 0.08, rerun=0.01),  # largest run components in the study: 0.6%
        # docker-host random access: 15.9% between set-ups; docker-bridge 4.3% between runs
        Family("memory", 0.10, setup=0.16, rerun=0.05),
        Family("disk", 0.34, rerun=0.09),  # docker-host random read: 7.9% between runs
        Family("network", 0.15, rerun=0.05),  # docker-bridge published: 3.9%
        # TCG PostgreSQL 0.26; host and containers 0.141; redis published 5.0% between runs
        Family("services", 0.26, native=0.15, rerun=0.06),
        Family("startup", 0.11),
        # Under emulation unmeasured: the noisiest group's spread (the tail's). On native
        # platforms the economics study (tests/data/nested-economics): PSS per container 0.5%
        # between set-ups, 0.3% between runs; a quick run's mean well under 3%.
        Family("density", 0.42, native=0.03, setup=0.01, rerun=0.01),
        # The victim's slowdown: 1.7% between set-ups, 1.2% between runs (round 3.3%).
        Family("isolation", 0.42, native=0.05, setup=0.02, rerun=0.02),
    )
}
TAIL_GROUP = Family("tail", 0.42, rerun=0.32)  # the study's largest: 31.4% (a disk p99)
TAIL = re.compile(r"\bp99")


def order(present: set[str]) -> list[str]:
    """Families in report order; any the table does not know (a newer run's) after them."""
    return [f for f in FAMILIES if f in present] + sorted(present - set(FAMILIES))


@dataclass(frozen=True)
class Range:
    """A figure over a family's metrics: its median, smallest and largest, of how many."""

    family: str
    median: float
    low: float
    high: float
    metrics: int


def ranges(figures: Iterable[tuple[str, float]]) -> list[Range]:
    """Per family (report order), the median and range of its metrics' finite figures; a
    family with none is left out."""
    by: dict[str, list[float]] = {}
    for family, x in figures:
        if math.isfinite(x):
            by.setdefault(family, []).append(x)
    return [
        Range(f, statistics.median(by[f]), min(by[f]), max(by[f]), len(by[f]))
        for f in order(set(by))
    ]


def noise_group(family: str, metric: str, emulated: bool = True) -> Family:
    """Metrics whose run-to-run noise is alike: a family's (its native platforms' apart where
    the table gives them a spread of their own), and tail latencies of any family. A family
    this table does not know gets the noisiest group's spread."""
    if TAIL.search(metric):
        return TAIL_GROUP
    noisiest = max([*FAMILIES.values(), TAIL_GROUP], key=lambda f: f.run_to_run)
    found = FAMILIES.get(family, Family(family, noisiest.run_to_run))
    if not emulated and found.native is not None:
        return native_group(found)
    return found


def setup_spread(family: str) -> float:
    """The set-up spread a family is planned and borrowed with (Family.setup_default; the widest
    family's where the family is unknown)."""
    known = FAMILIES.get(family)
    return known.setup_default if known else max(f.setup_default for f in FAMILIES.values())


def beyond_setups(family: str, metric: str, emulated: bool) -> float:
    """What a rerun adds to a metric beyond the fresh set-ups of one run: measured on native
    platforms (Family.rerun), the whole run-to-run spread where it was not measured."""
    group = noise_group(family, metric, emulated)
    return group.run_to_run if emulated or group.rerun is None else group.rerun


def night_shared(family: str, metric: str, emulated: bool) -> float:
    """What a same-night rerun shares with its night, where it was measured (beyond_setups on
    a native platform whose family measured it); infinite where not: a rerun under emulation,
    or of an unmeasured family, may re-draw nothing of a run's spread."""
    group = noise_group(family, metric, emulated)
    return math.inf if emulated or group.rerun is None else group.rerun


def native_group(f: Family) -> Family:
    spread = f.native if f.native is not None else f.run_to_run
    return Family(f"{f.name} (native)", spread, setup=f.setup, rerun=f.rerun)


# Every noise group, by name (the gate's variances are moderated within one).
GROUPS: dict[str, Family] = {
    g.name: g
    for g in (
        *FAMILIES.values(),
        *(native_group(f) for f in FAMILIES.values() if f.native is not None),
        TAIL_GROUP,
    )
}
