"""Renders the report: one self-contained HTML file from saved runs (inline CSS and SVG)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jinja2

from triptych.report import svg
from triptych.report.analysis import Group, Row, analyse
from triptych.report.load import Runs, load_runs
from triptych.report.stats import Comparison

FAMILY_ORDER = ("cpu", "memory", "disk", "network", "startup")
MACHINE_KEYS = (
    "cpu_model",
    "cpu_count_logical",
    "memory_total_bytes",
    "kernel",
    "cpu_governor",
    "host_virtualization",
    "tool_sysbench",
    "tool_fio",
    "tool_iperf3",
)


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("triptych.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )


def fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else "n/a"


def cost_text(cost: float) -> str:
    return f"{(cost - 1) * 100:+.1f}%"


def cost_colour(cost: float | None) -> str:
    """White at parity, red as the platform costs more, green as it costs less."""
    if cost is None or not math.isfinite(cost):
        return "#ffffff"
    x = max(-1.0, min(1.0, math.log(cost) / math.log(2)))  # saturates at 2x either way
    if x >= 0:
        return f"rgb(255,{int(255 - 140 * x)},{int(255 - 140 * x)})"
    return f"rgb({int(255 + 140 * x)},255,{int(255 + 140 * x)})"


def verdict(c: Comparison) -> str:
    css = "ns" if not c.significant else ("worse" if c.worse else "better")
    sig = (
        "significant"
        if c.significant
        else ("no significant difference" if c.testable else "too few rounds to test")
    )
    ci = (
        f"CI {(c.ci_low - 1) * 100:+.0f}..{(c.ci_high - 1) * 100:+.0f}%"
        if math.isfinite(c.ci_low)
        else "no CI"
    )
    return (
        f'<span class="{css}{" sig" if c.significant else ""}">{c.change * 100:+.1f}% '
        f"({ci}, p={c.p_value:.3g}, {sig})</span>"
    )


def families(g: Group) -> list[str]:
    present = {r.family for r in g.rows}
    return [f for f in FAMILY_ORDER if f in present] + sorted(present - set(FAMILY_ORDER))


def family_chart(g: Group, family: str) -> str:
    bars = []
    for r in g.rows:
        if r.family != family:
            continue
        for lab in g.labels:
            c = r.cells.get(lab)
            if c is None or c.comparison is None:
                continue
            k = c.comparison
            bars.append(
                svg.Bar(
                    f"{r.case}: {r.metric} / {lab}",
                    k.change,
                    k.ci_low - 1,
                    k.ci_high - 1,
                    k.worse,
                    k.significant,
                )
            )
    return svg.bar_chart(bars, f"{family}: change against host (95% CI)")


def distribution(r: Row) -> str:
    groups = ([("host", list(r.host.values))] if r.host else []) + [
        (lab, list(c.values)) for lab, c in r.cells.items()
    ]
    return svg.strip_plot(groups, f"{r.case}: {r.metric}", r.unit)


def trend(g: Group, family: str) -> str:
    dates = {run: d for run, (d, _) in g.run_info.items()}
    return svg.trend_chart(
        g.trends[family], g.runs, dates, f"{family}: cost against host over {len(g.runs)} runs"
    )


def headline(g: Group, family: str, label: str) -> str:
    """The family's headline figure for a column that has no cost against the host (startup:
    the host has none), e.g. "0.42 s (startup time to first exec)"."""
    for r in g.rows:
        if r.family == family and r.headline and label in r.cells:
            return f"{fmt(r.cells[label].median)} {r.unit} ({r.metric})"
    return ""


def render(runs: Runs) -> str:
    groups = analyse(runs.samples, runs.machines, runs.partial)

    def machine(run: str) -> dict[str, Any]:
        return dict(runs.machines.get(run, {}).get("triptych", {}))

    def platforms(g: Group) -> dict[str, dict[str, Any]]:
        return runs.platforms.get(g.latest, {})

    return (
        _env()
        .get_template("report.html.j2")
        .render(
            groups=groups,
            nruns=runs.samples.run.nunique(),
            families=families,
            family_chart=family_chart,
            distribution=distribution,
            trend=trend,
            fmt=fmt,
            verdict=verdict,
            cost_text=cost_text,
            cost_colour=cost_colour,
            headline=headline,
            machine=machine,
            platforms=platforms,
            machine_keys=MACHINE_KEYS,
            load_warnings=runs.warnings,
        )
    )


def write_report(paths: list[Path], out: Path) -> Path:
    html = render(load_runs(paths))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)  # readers never see half a report
    return out
