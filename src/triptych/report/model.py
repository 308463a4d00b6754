"""What a report shows, as data: the columns, rows and cells of each environment's group of runs,
and the notices above them (analysis builds them, render and the notices read them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from triptych.report.summary import SummaryCell
from triptych.results.host_cost import HostCpuRow
from triptych.results.labels import Column
from triptych.verdict.effect import Effect
from triptych.verdict.stats import Comparison


@dataclass(frozen=True)
class Notice:
    """A warning above the figures; `loud` ones change what the figures mean."""

    text: str
    loud: bool = False


@dataclass(frozen=True)
class Cell:
    label: str
    median: float
    n: int
    cv: float
    comparison: Comparison | None
    values: tuple[float, ...]
    effect: Effect | None = None  # decided over the whole run (corrected for multiplicity)
    # Independent set-ups (fresh platforms) its rounds came from; with one, its interval
    # borrows a set-up variance (verdict/nested.py).
    setups: int = 1
    borrowed: str = ""  # where a one-set-up interval's set-up variance came from


@dataclass(frozen=True)
class Row:
    family: str
    case: str
    metric: str
    unit: str
    higher_is_better: bool
    host: Cell | None
    cells: dict[str, Cell]
    headline: bool  # the figure that stands for its case (the workload's primary metric)
    series: str = ""  # the sweep the case belongs to (empty: none)
    sweep_axis: str = ""  # the parameter the sweep varies ("connections")
    sweep_value: float = float("nan")  # this case's value of it


@dataclass
class Group:
    """Runs taken in one environment: compared and trended together, never with other groups."""

    env: str
    runs: list[str]
    latest: str
    labels: list[str]
    columns: dict[str, Column]
    rows: list[Row]
    summary: dict[str, dict[str, SummaryCell]]  # family -> label -> its cell
    trends: dict[str, dict[str, list[tuple[str, float]]]]  # family -> label -> [(run, cost)]
    run_info: dict[str, tuple[str, str]]  # run -> (date, commit)
    warnings: list[Notice] = field(default_factory=list)
    # The earlier runs the newest's one-set-up intervals took the machine's own noise from.
    noise_runs: int = 0
    host_cpu: list[HostCpuRow] = field(default_factory=list)  # the newest run's, per case
