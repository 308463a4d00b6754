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
from triptych.results.load import Runs, load_runs
from triptych.verdict.effect import describe


def summary_lines(journal: Path, saved: Path | None = None, session: str = "") -> list[str]:
    """The run's summary (`journal`: its journal; `saved`: where the machine's runs are saved,
    whose earlier runs give the report's noise model, so the summary says what the report
    will; `session`: this run's, left out of them)."""
    runs = load_runs([journal])
    if runs.samples.empty:
        return []
    earlier = _earlier(saved, session) if saved is not None and saved.is_dir() else None
    lines: list[str] = []
    costs: list[str] = []
    notes: list[str] = []
    for g in analyse(runs.samples, runs.machines, runs.partial, runs.platforms, earlier=earlier):
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


def _earlier(saved: Path, session: str) -> Runs:
    """The runs saved before this one (this session's own, saved or journalled, left out)."""
    found = load_runs([saved])
    if found.samples.empty:
        return found
    mine = found.of_sessions([session])
    return Runs(
        found.samples[~found.samples.run.isin(mine)].reset_index(drop=True),
        {r: m for r, m in found.machines.items() if r not in mine},
        partial=found.partial - mine,
    )


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
