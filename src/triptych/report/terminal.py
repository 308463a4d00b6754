"""The summary at the end of a pytest run: each platform against the host on every case's
primary metric, then what a unit of its work cost the host's CPUs (results/host_cost.py), each
decided and worded by the same code as the report (read from the run's journal, so it is
exactly what the report will say of this run)."""

from __future__ import annotations

from pathlib import Path

from triptych.report.analysis import analyse
from triptych.report.model import Row
from triptych.report.notices import borrowed_notice
from triptych.results.host_cost import METRIC as HOST_CPU
from triptych.results.load import load_runs
from triptych.verdict.effect import describe


def summary_lines(journal: Path) -> list[str]:
    runs = load_runs([journal])
    if runs.samples.empty:
        return []
    lines: list[str] = []
    costs: list[str] = []
    notes: list[str] = []
    for g in analyse(runs.samples, runs.machines, runs.partial, runs.platforms):
        notes += [n for n in [borrowed_notice(g)] if n and n not in notes]
        for row in g.rows:
            if row.headline:
                lines += _said(row, False)
            elif row.metric == HOST_CPU:
                costs += _said(row, True)
    if not lines:
        return ["no host column in this run: nothing to compare the platforms against"]
    head = "each platform against the host, on each case's primary metric (as the report says):"
    if costs:
        costs.insert(0, f"{HOST_CPU}, each platform's against the host's (lower is better):")
    return [head, *lines, *costs, *notes]


def _said(row: Row, figure: bool) -> list[str]:
    """One line per column with a verdict; with `figure`, its median first ("0.3671 CPU-s/Gbit",
    as the report writes it), after the host's own."""
    said = [
        f"{row.case:<20} {label:<32} "
        + (f"{cell.median:.4g} {row.unit}: " if figure else "")
        + describe(cell.effect)
        for label, cell in row.cells.items()
        if cell.effect is not None
    ]
    if figure and said and row.host is not None:
        said.insert(0, f"{row.case:<20} {row.host.label:<32} {row.host.median:.4g} {row.unit}")
    return said
