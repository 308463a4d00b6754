"""Renders the report: one self-contained HTML file from saved runs (inline CSS and SVG)."""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from triptych.families import order
from triptych.gate.record import Regression
from triptych.gate.series_power import NOT_YET
from triptych.private_path import replace_atomically
from triptych.record import DESCRIPTION_KEY, DOCUMENT_KEYS
from triptych.report import svg
from triptych.report.analysis import analyse
from triptych.report.export import verdicts
from triptych.report.isolation import isolation_rows
from triptych.report.model import Group, Row
from triptych.report.of_record import OpenRegression, open_in
from triptych.report.series_caught import SeriesCaught, series_caught
from triptych.report.summary import SummaryCell
from triptych.results import host_cost
from triptych.results.costs import HOST
from triptych.results.host_cost import HostCpuCell, HostCpuRow
from triptych.results.load import Runs
from triptych.tools import TOOLS
from triptych.verdict.effect import Effect, count_difference, describe, factor
from triptych.verdict.stats import MARGIN
from triptych.workloads import density

# Besides each case's primary metric, what a concurrency sweep is drawn for: the p99 latencies.
SWEEP_TAIL = re.compile(r"\bp99$")
MACHINE_KEYS = (
    "cpu_model",
    "cpu_count_logical",
    "memory_total_bytes",
    "kernel",
    "cpu_governor",
    "host_virtualization",
    *(f"tool_{name}" for name in TOOLS),
)


@functools.cache
def template() -> jinja2.Template:
    """The report's template, compiled once a process (the report command compiles it while
    its workers read the saved runs)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("triptych.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2")


def fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else "n/a"


def cost_colour(cell: SummaryCell | None) -> str:
    """White unless the cell's findings agree; then red as it costs more, green as it costs
    less, saturating at 2x."""
    if cell is None or not cell.direction or not math.isfinite(cell.cost):
        return "#ffffff"
    x = max(-1.0, min(1.0, math.log(cell.cost) / math.log(2)))
    if x >= 0:
        return f"rgb(255,{int(255 - 140 * x)},{int(255 - 140 * x)})"
    return f"rgb({int(255 + 140 * x)},255,{int(255 + 140 * x)})"


def effect_css(e: Effect) -> str:
    return e.verdict if e.finding else "ns"


def families(g: Group) -> list[str]:
    return order({r.family for r in g.rows})


def family_chart(g: Group, family: str) -> str:
    bars = []
    for r in g.rows:
        if r.family != family:
            continue
        for lab in g.labels:
            c = r.cells.get(lab)
            if c is None or c.effect is None:
                continue
            e = c.effect
            bars.append(svg.Bar(f"{r.case}: {r.metric} / {lab}", e.cost, e.low, e.high, e.verdict))
    return svg.bar_chart(bars, f"{family}: cost against host (95% interval, log scale)")


def sweeps(g: Group, family: str) -> list[str]:
    """Throughput and p99 against the swept parameter, per platform, for each sweep of the
    family (cases made from one list of values, e.g. `connections`) that has two or more."""
    lines: dict[tuple[str, str, str, str], dict[str, list[tuple[float, float]]]] = {}
    for r in g.rows:
        if r.family != family or not r.series:
            continue
        if not (r.headline or SWEEP_TAIL.search(r.metric)):
            continue
        cells = {**({HOST: r.host} if r.host else {}), **r.cells}
        chart = lines.setdefault((r.series, r.sweep_axis, r.metric, r.unit), {})
        for label, cell in cells.items():
            chart.setdefault(label, []).append((r.sweep_value, cell.median))
    return [
        svg.sweep_chart(by_label, f"{series}: {metric} against {axis}", unit, axis)
        for (series, axis, metric, unit), by_label in lines.items()
        if max(len(pts) for pts in by_label.values()) > 1
    ]


def density_charts(g: Group, family: str) -> list[str]:
    """Launch time against the order the instances started, one chart per way of starting them
    (one after another, all at once), one line per platform (and case, where several share a
    column: a sweep over N)."""
    found = [
        (r, m) for r in g.rows if r.family == family and (m := density.INDEXED.match(r.metric))
    ]
    cases: dict[str, set[str]] = {}
    for r, _ in found:
        for label in r.cells:
            cases.setdefault(label, set()).add(r.case)
    lines: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for r, m in found:
        for label, cell in r.cells.items():
            key = f"{label} ({r.case})" if len(cases[label]) > 1 else label
            point = (int(m.group(1)) + 1, cell.median)
            lines.setdefault(m.group(2), {}).setdefault(key, []).append(point)
    title = "launch time ({}) against the order it started"
    return [svg.sweep_chart(by, title.format(mode), "s", "instance") for mode, by in lines.items()]


def distribution(r: Row) -> str:
    groups = ([(HOST, list(r.host.values))] if r.host else []) + [
        (lab, list(c.values)) for lab, c in r.cells.items()
    ]
    return svg.strip_plot(groups, f"{r.case}: {r.metric}", r.unit)


def trend(g: Group, family: str) -> str:
    dates = {run: d for run, (d, _) in g.run_info.items()}
    return svg.trend_chart(
        g.trends[family], g.runs, dates, f"{family}: cost against host over {len(g.runs)} runs"
    )


def host_cpu_cells(g: Group, r: HostCpuRow) -> list[tuple[str, HostCpuCell | None, Effect | None]]:
    """A host-CPU row's columns, the host's first: its figures, and the verdict against the
    host of its "host CPU per unit of work" metric."""
    effects = {
        (row.case, label): c.effect
        for row in g.rows
        if row.metric == host_cost.METRIC
        for label, c in row.cells.items()
    }
    return [(lab, r.cells.get(lab), effects.get((r.case, lab))) for lab in [HOST, *g.labels]]


def headline(g: Group, family: str, label: str) -> str:
    """The family's headline figure for a column that has no cost against the host (startup:
    the host has none), e.g. "0.42 s (startup time to first exec)"."""
    for r in g.rows:
        if r.family == family and r.headline and label in r.cells:
            return f"{fmt(r.cells[label].median)} {r.unit} ({r.metric})"
    return ""


@dataclass(frozen=True)
class Fleet:
    """The fleet table: the families and platform columns any machine has, and each
    environment's machine name."""

    families: list[str]
    labels: list[str]
    names: dict[str, str]


def fleet(groups: list[Group], machines: dict[str, dict[str, Any]]) -> Fleet:
    present = {f for g in groups for f in g.summary}
    columns = {lab: g.columns[lab].order for g in groups for lab in g.labels}
    return Fleet(
        order(present),
        sorted(columns, key=lambda lab: columns[lab]),
        {g.env: str(machines.get(g.latest, {}).get("node", "?")) for g in groups},
    )


def _helpers() -> dict[str, Any]:
    """What the template calls that needs nothing of the run at hand."""
    return {
        "families": families,
        "family_chart": family_chart,
        "sweeps": sweeps,
        "density_charts": density_charts,
        "distribution": distribution,
        "trend": trend,
        "fmt": fmt,
        "describe": describe,
        "effect_css": effect_css,
        "factor": factor,
        "count_difference": count_difference,
        "cost_colour": cost_colour,
        "headline": headline,
        "host_cpu_cells": host_cpu_cells,
        "isolation_rows": isolation_rows,
    }


def caught_by_group(
    runs: Runs, groups: list[Group], regressions: list[Regression] | None
) -> dict[str, SeriesCaught | None]:
    """Per group (by environment), what the nightly gate's series test could catch."""
    return {g.env: series_caught(runs, g.runs, regressions or []) for g in groups}


def render(
    runs: Runs,
    groups: list[Group] | None = None,
    regressions: list[Regression] | None = None,
    caught: dict[str, SeriesCaught | None] | None = None,
) -> str:
    if groups is None:
        groups = analyse(
            runs.samples, runs.machines, runs.partial, runs.platforms, runs.history, runs.earlier
        )
    by_env = caught if caught is not None else caught_by_group(runs, groups, regressions)

    def machine(run: str) -> dict[str, Any]:
        return dict(runs.machines.get(run, {}).get("triptych", {}))

    def platforms(g: Group) -> dict[str, dict[str, Any]]:
        return runs.platforms.get(g.latest, {})

    def descriptions(g: Group) -> dict[str, str]:
        """What each platform of the group's newest run is, as the run saved it (older runs
        saved none)."""
        found = {p: m.get(DESCRIPTION_KEY) for p, m in platforms(g).items()}
        return {p: text for p, text in sorted(found.items()) if isinstance(text, str)}

    return template().render(
        groups=groups,
        nruns=runs.samples.run.nunique(),
        **_helpers(),
        fleet=lambda groups: fleet(groups, runs.machines),
        machine=machine,
        platforms=platforms,
        descriptions=descriptions,
        open_regressions=lambda g: open_in(g.env, regressions or [], runs),
        series_caught=lambda g: by_env.get(g.env),
        series_not_yet=NOT_YET,
        description_key=DESCRIPTION_KEY,
        documents=sorted(DOCUMENT_KEYS),
        machine_keys=MACHINE_KEYS,
        load_warnings=runs.warnings,
        margin=MARGIN,
    )


def _write(out: Path, text: str) -> None:
    """Written whole (readers never see half a report) through a temporary file of a fresh
    name, created O_EXCL: run as root with `-o` in a shared directory, a link planted at a name
    we would use is never written through, and one planted at `out` is replaced, not followed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(out.parent, out, text.encode("utf-8"), f".{out.name}.tmp-")


def write_runs(
    runs: Runs,
    out: Path,
    json_out: Path | None = None,
    regressions: list[Regression] | None = None,
) -> Path:
    """The HTML report (and, given `json_out`, the verdicts as data), from one analysis; with
    the open regressions of record of each environment and what its nightly gate's series test
    could catch."""
    groups = analyse(
        runs.samples, runs.machines, runs.partial, runs.platforms, runs.history, runs.earlier
    )
    caught = caught_by_group(runs, groups, regressions)
    _write(out, render(runs, groups, regressions, caught))
    if json_out is not None:

        def regs(g: Group) -> list[OpenRegression]:
            return open_in(g.env, regressions or [], runs)

        data = verdicts(groups, regs, lambda g: caught.get(g.env))
        _write(json_out, json.dumps(data, indent=1, allow_nan=False) + "\n")
    return out
