"""From the samples DataFrame to what the report shows: comparisons, summary, trends, warnings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from triptych.report.model import Cell, Group, Notice, Row
from triptych.report.notices import builds, warnings_for
from triptych.report.summary import Headline, SummaryCell, summarise
from triptych.results.costs import HOST, primary_rows, trend_costs
from triptych.results.digest import selected_cases
from triptych.results.host_cost import host_cpu_rows, per_unit_samples
from triptych.results.labels import columns_of, labelled
from triptych.results.load import chronological
from triptych.verdict.nested import compare_setups, family_default
from triptych.verdict.stats import cv, decide


def _cell_values(
    run: pd.DataFrame, keys: list[str]
) -> dict[tuple[Any, ...], dict[str, list[np.ndarray]]]:
    """Each metric's rounds per column and set-up, from one pass over the run (not a groupby
    per metric): key -> label -> one array of rounds per set-up, columns in the labels' order."""
    values = run.value.to_numpy(dtype=float)
    order = {str(lab): i for i, lab in enumerate(run.label.cat.categories)}
    out: dict[tuple[Any, ...], dict[str, list[np.ndarray]]] = {}
    groups: dict[tuple[Any, ...], Any] = run.groupby(  # type: ignore[assignment]
        [*keys, "label", "setup"], sort=True, observed=True
    ).indices
    for group, positions in groups.items():
        out.setdefault(tuple(group[:-2]), {}).setdefault(str(group[-2]), []).append(
            values[positions]
        )
    return {k: dict(sorted(v.items(), key=lambda kv: order[kv[0]])) for k, v in out.items()}


def _rows(run: pd.DataFrame) -> list[Row]:
    rows = []
    keys = ["family", "case", "metric", "unit", "higher_is_better", "primary_metric"]
    sweep = run.drop_duplicates("case").set_index("case")
    for key, by_label in _cell_values(run, keys).items():
        family, case, metric, unit, hib, primary_metric = key
        cells: dict[str, Cell] = {}
        host_setups = by_label.get(HOST)
        borrowed = family_default(str(family))
        looks = max(1, int(sweep.looks[case]))  # 0: stored before looks were
        for label, setups in by_label.items():
            vals = np.concatenate(setups)
            comp = None
            # Counts (retransmits) are compared as counts, never as ratios.
            if host_setups is not None and label != HOST and str(unit) != "count":
                comp = compare_setups(setups, host_setups, bool(hib), borrowed, looks=looks)
            cells[label] = Cell(
                label,
                float(np.median(vals)),
                len(vals),
                cv(vals),
                comp,
                tuple(float(v) for v in vals),
                setups=len(setups),
                borrowed=borrowed.source if comp is not None and len(setups) == 1 else "",
            )
        host = cells.pop(HOST, None)
        headline = str(metric) == str(primary_metric)
        rows.append(
            Row(
                str(family),
                str(case),
                str(metric),
                str(unit),
                bool(hib),
                host,
                cells,
                headline,
                str(sweep.series[case]),
                str(sweep.sweep_axis[case]),
                float(sweep.sweep_value[case]),
            )
        )
    return _decided(rows)


def _decided(rows: list[Row]) -> list[Row]:
    """Every comparison of the run decided together: the false discovery rate is controlled
    over all of them, not metric by metric."""
    places = [(r, lab) for r in rows for lab, c in r.cells.items() if c.comparison is not None]
    effects = decide([r.cells[lab].comparison for r, lab in places], "fdr")  # type: ignore[misc]
    for (r, lab), e in zip(places, effects, strict=True):
        r.cells[lab] = replace(r.cells[lab], effect=e)
    return rows


def _group(
    env: str, df: pd.DataFrame, history: pd.DataFrame | None, reruns: set[str] | None = None
) -> Group:
    """One environment's runs: the newest in full (the newest of every case: a rerun of some
    cases, `reruns`, only where the environment has no other), every run's costs for the trend
    lines (from the samples, or stored with each run: `history`)."""
    every = df if history is None else history[history.env == env]
    firsts = chronological(every.drop_duplicates("run"))
    runs = [str(r) for r in firsts.run]
    held = {str(r) for r in df.run.unique()} - (reruns or set())  # not per sample: 100,000s
    shown = [r for r in runs if r in held]
    latest = shown[-1] if shown else runs[-1]
    run = df[df.run == latest]
    rows = _rows(_with_host_cost(run))
    columns = columns_of(run)
    labels = sorted((lab for lab in columns if lab != HOST), key=lambda lab: columns[lab].order)
    summary = _summary(run, rows)
    trends = _trends(runs, trend_costs(df) if history is None else _stored_costs(every))
    info = firsts.set_index("run")
    run_info = {str(r): (str(info.run_date[r]), str(info.commit[r])[:10]) for r in runs}
    group = Group(env, runs, latest, labels, columns, rows, summary, trends, run_info)
    group.host_cpu = host_cpu_rows(run)
    if len(runs) > 1 and every.scenario.nunique() > 1:
        group.warnings.append(
            Notice("Runs of different scenarios are trended together: compare like with like.")
        )
    return group


def _with_host_cost(run: pd.DataFrame) -> pd.DataFrame:
    """The run's samples and each rate's host CPU per unit of work, as a metric of its own."""
    derived = per_unit_samples(run)
    if derived.empty:
        return run
    both = pd.concat([run, derived], ignore_index=True)
    return both.astype({"metric": "category", "unit": "category"})


def _stored_costs(history: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    points = history[history.family != ""]
    keys = zip(points.run, points.family, points.label, points.cost, strict=True)
    return {(str(r), str(f), str(lab)): float(c) for r, f, lab, c in keys}


def _trends(
    runs: list[str], per_run: dict[tuple[str, str, str], float]
) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """family -> column -> [(run, cost)], in the runs' order (none for a single run)."""
    trends: dict[str, dict[str, list[tuple[str, float]]]] = {}
    if len(runs) > 1:
        order = {r: i for i, r in enumerate(runs)}
        for (r, family, label), value in sorted(per_run.items(), key=lambda kv: order[kv[0][0]]):
            trends.setdefault(family, {}).setdefault(label, []).append((r, value))
    return trends


def _summary(run: pd.DataFrame, rows: list[Row]) -> dict[str, dict[str, SummaryCell]]:
    primary = primary_rows(run)
    wanted = set(zip(primary.case.astype(str), primary.metric.astype(str), strict=True))
    headlines = [
        Headline(r.family, r.case, lab, c.effect)
        for r in rows
        if (r.case, r.metric) in wanted
        for lab, c in r.cells.items()
        if c.effect is not None
    ]
    hosts = primary[primary.label == HOST].groupby("family", observed=True).case.nunique()
    return summarise(headlines, {str(f): int(n) for f, n in hosts.items()})


def analyse(
    df: pd.DataFrame,
    machines: dict[str, dict[str, Any]],
    partial: set[str] | None = None,
    platforms: dict[str, dict[str, dict[str, Any]]] | None = None,
    history: pd.DataFrame | None = None,
) -> list[Group]:
    """One Group per environment, newest first (`platforms`: each run's platform metadata;
    `history`: every run's stored costs when df holds only the newest runs, see Runs)."""
    if df.empty:
        return []
    df = labelled(df)
    reruns = {run for run, m in machines.items() if selected_cases(m)}
    groups = [
        _group(str(env), g, history, reruns)
        for env, g in df.groupby("env", sort=False, observed=True)
    ]
    groups.sort(key=lambda g: g.run_info[g.latest][0], reverse=True)
    for g in groups:
        if g.latest in (partial or set()):
            cases = df[(df.run == g.latest)].case.nunique()
            g.warnings.append(
                Notice(
                    f"Run {g.latest} is PARTIAL: it stopped before its end; the "
                    f"{cases} case(s) it finished are shown.",
                    loud=True,
                )
            )
        g.warnings.extend(warnings_for(g, df[df.env == g.env], machines))
        g.warnings.extend(builds((platforms or {}).get(g.latest, {})))
    return groups
