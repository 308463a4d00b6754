"""The summary at the end of a pytest run: each platform against the host on every case's
primary metric, decided and worded by the same code as the report (read from the run's journal,
so it is exactly what the report will say of this run)."""

from __future__ import annotations

from pathlib import Path

from triptych.report.analysis import analyse
from triptych.report.notices import borrowed_notice
from triptych.results.load import load_runs
from triptych.verdict.effect import describe


def summary_lines(journal: Path) -> list[str]:
    runs = load_runs([journal])
    if runs.samples.empty:
        return []
    lines = []
    notes: list[str] = []
    for g in analyse(runs.samples, runs.machines, runs.partial, runs.platforms):
        notes += [n for n in [borrowed_notice(g)] if n and n not in notes]
        for row in g.rows:
            if not row.headline:
                continue
            for label, cell in row.cells.items():
                if cell.effect is not None:
                    lines.append(f"{row.case:<20} {label:<32} {describe(cell.effect)}")
    if not lines:
        return ["no host column in this run: nothing to compare the platforms against"]
    head = "each platform against the host, on each case's primary metric (as the report says):"
    return [head, *lines, *notes]
