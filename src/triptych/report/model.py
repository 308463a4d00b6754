"""What a report shows, as data: the columns, rows and cells of each environment's group of runs,
and the notices above them (analysis builds them, render and the notices read them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from triptych.report.effect import Effect
from triptych.report.stats import Comparison
from triptych.report.summary import SummaryCell


@dataclass(frozen=True)
class Column:
    """A platform through one path, as the saved records describe it. Its own path (its
    address, a volume, its virtual disk) is the platform's column; other paths (a published
    port, the overlay layer) get columns of their own."""

    platform: str
    profile: str  # a guest profile when a run compares several, else empty
    variant: str
    primary: bool
    emulated: bool
    rank: int

    @property
    def label(self) -> str:
        """How the column is named: platform (and guest profile), a secondary path if any,
        emulation loudly."""
        name = f"{self.platform} {self.profile}" if self.profile else self.platform
        label = name if self.primary else f"{name} ({self.variant})"
        return f"{label} [TCG emulation]" if self.emulated else label

    @property
    def order(self) -> tuple[int, bool, str]:
        return (self.rank, not self.primary, self.variant)


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
    series: str = ""  # the concurrency sweep the case belongs to (empty: none)
    connections: float = float("nan")  # its `connections` parameter, if it has one


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
