"""The isolation table: for each neighbour case, every column's victim alone and beside its
neighbour, the slowdown between them, and that slowdown's verdict against the host's (whose two
processes have nothing between them). Read from the report's rows: the same figures, intervals
and corrected verdicts as the family's table."""

from __future__ import annotations

from dataclasses import dataclass

from triptych.report.model import Cell, Group, Row
from triptych.results.costs import HOST
from triptych.verdict.effect import Effect
from triptych.workloads.neighbour import ALONE, BESIDE, SLOWDOWN, Neighbour


@dataclass(frozen=True)
class IsolationCell:
    slowdown: float  # the victim's, beside the neighbour (1.0x: no harm)
    alone: float
    beside: float
    n: int
    effect: Effect | None  # the slowdown's verdict against the host's (none on the host)


@dataclass(frozen=True)
class IsolationRow:
    case: str
    victim: str  # the victim's metric, e.g. "cpu events"
    unit: str
    columns: tuple[tuple[str, IsolationCell | None], ...]  # the table's, the host's first

    @property
    def cells(self) -> dict[str, IsolationCell]:
        """The columns that have figures, by label."""
        return {label: c for label, c in self.columns if c is not None}


def isolation_rows(g: Group) -> list[IsolationRow]:
    """One row per neighbour case of the group's newest run, in report order."""
    by_case: dict[str, dict[str, Row]] = {}
    for r in g.rows:
        if r.family != Neighbour.family:
            continue
        kind = "slowdown" if r.metric == SLOWDOWN else _kind(r.metric)
        if kind:
            by_case.setdefault(r.case, {})[kind] = r
    out = []
    for case, rows in by_case.items():
        if {"slowdown", "alone", "beside"} - set(rows):
            continue
        s, a, b = rows["slowdown"], rows["alone"], rows["beside"]
        columns = tuple((label, _figures(s, a, b, label)) for label in [HOST, *g.labels])
        out.append(IsolationRow(case, a.metric.removesuffix(ALONE), a.unit, columns))
    return out


def _figures(s: Row, a: Row, b: Row, label: str) -> IsolationCell | None:
    """One column's slowdown, alone and beside (None: it lacks one of them)."""
    sc, ac, bc = (_cell(r, label) for r in (s, a, b))
    if sc is None or ac is None or bc is None:
        return None
    effect = sc.effect if label != HOST else None
    return IsolationCell(sc.median, ac.median, bc.median, sc.n, effect)


def _kind(metric: str) -> str:
    if metric.endswith(ALONE):
        return "alone"
    if metric.endswith(BESIDE):
        return "beside"
    return ""


def _cell(r: Row, label: str) -> Cell | None:
    return r.host if label == HOST else r.cells.get(label)
