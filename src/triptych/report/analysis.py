"""From the samples DataFrame to what the report shows: comparisons, summary, trends, warnings."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
from triptych.results.load import Runs, chronological
from triptych.verdict.nested import (
    DEFAULT,
    HISTORY,
    Borrowed,
    compare_setups,
    family_default,
    of_history,
)
from triptych.verdict.noise_model import EMPTY, NoiseModel, of_runs
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


def _borrowed(model: NoiseModel, family: str, case: str, metric: str, label: str) -> Borrowed:
    """What a one-set-up side borrows: the machine's own spread where its history has one."""
    spread = model.get(case, metric, label)
    return of_history(spread) if spread is not None else family_default(family)


@dataclass(frozen=True)
class HostSide:
    """The host's side of a row's comparisons: its set-ups, what it borrows, the metric's
    direction and the case's looks."""

    setups: list[np.ndarray]
    borrowed: Borrowed
    higher_is_better: bool
    looks: int


def _cell(label: str, setups: list[np.ndarray], borrowed: Borrowed, host: HostSide | None) -> Cell:
    """One column's cell: its figures, and its comparison with the host's side if it has one."""
    vals = np.concatenate(setups)
    comp = None
    if host is not None:
        comp = compare_setups(setups, host.setups, host.higher_is_better, borrowed,
                              looks=host.looks, baseline_borrowed=host.borrowed)  # fmt: skip
    lone = (
        [b for b, g in ((borrowed, setups), (host.borrowed, host.setups)) if len(g) == 1]
        if host
        else []
    )
    return Cell(
        label,
        float(np.median(vals)),
        len(vals),
        cv(vals),
        comp,
        tuple(float(v) for v in vals),
        setups=len(setups),
        borrowed=_source(lone) if comp is not None and lone else "",
    )


def _rows(run: pd.DataFrame, model: NoiseModel = EMPTY) -> list[Row]:
    rows = []
    keys = ["family", "case", "metric", "unit", "higher_is_better", "primary_metric"]
    sweep = run.drop_duplicates("case").set_index("case")
    for key, by_label in _cell_values(run, keys).items():
        family, case, metric, unit, hib, primary_metric = key
        cells: dict[str, Cell] = {}
        host_setups = by_label.get(HOST)
        host_borrowed = _borrowed(model, str(family), str(case), str(metric), HOST)
        looks = max(1, int(sweep.looks[case]))  # 0: stored before looks were
        side = HostSide(host_setups or [], host_borrowed, bool(hib), looks)
        for label, setups in by_label.items():
            borrowed = _borrowed(model, str(family), str(case), str(metric), label)
            # Counts (retransmits) are compared as counts, never as ratios.
            compared = host_setups is not None and label != HOST and str(unit) != "count"
            cells[label] = _cell(label, setups, borrowed, side if compared else None)
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


def _source(borrowed: list[Borrowed]) -> str:
    """Where a cell's borrowed spread came from (the sides with one set-up): the machine's
    history only if every such side's did."""
    return HISTORY if all(b.source == HISTORY for b in borrowed) else DEFAULT


def _decided(rows: list[Row]) -> list[Row]:
    """Every comparison of the run decided together: the false discovery rate is controlled
    over all of them, not metric by metric."""
    places = [(r, lab) for r in rows for lab, c in r.cells.items() if c.comparison is not None]
    effects = decide([r.cells[lab].comparison for r, lab in places], "fdr")  # type: ignore[misc]
    for (r, lab), e in zip(places, effects, strict=True):
        r.cells[lab] = replace(r.cells[lab], effect=e)
    return rows


def _group(
    env: str,
    df: pd.DataFrame,
    history: pd.DataFrame | None,
    reruns: set[str] | None = None,
    partial: set[str] | None = None,
    earlier: Runs | None = None,
) -> Group:
    """One environment's runs: the newest in full (the newest of every case: a rerun of some
    cases, `reruns`, only where the environment has no other), every run's costs for the trend
    lines (from the samples, or stored with each run: `history`), the newest's one-set-up
    intervals from the machine's own noise where its earlier complete runs of the same scenario
    measured it (`partial`: runs that stopped before their end)."""
    every = df if history is None else history[history.env == env]
    firsts = chronological(every.drop_duplicates("run"))
    runs = [str(r) for r in firsts.run]
    held = {str(r) for r in df.run.unique()} - (reruns or set())  # not per sample: 100,000s
    shown = [r for r in runs if r in held]
    latest = shown[-1] if shown else runs[-1]
    run = df[df.run == latest]
    model = _model_for(
        env, run, df, runs[: runs.index(latest)], (reruns or set()) | (partial or set()), earlier
    )
    rows = _rows(_with_host_cost(run), model)
    columns = columns_of(run)
    labels = sorted((lab for lab in columns if lab != HOST), key=lambda lab: columns[lab].order)
    summary = _summary(run, rows)
    trends = _trends(runs, trend_costs(df) if history is None else _stored_costs(every))
    # One pass over the columns, not a pandas lookup per run (365 runs: 0.05 s).
    run_info = {
        str(r): (str(d), str(c)[:10])
        for r, d, c in zip(firsts.run, firsts.run_date, firsts.commit, strict=True)
    }
    group = Group(env, runs, latest, labels, columns, rows, summary, trends, run_info)
    group.noise_runs = len(model.runs)
    group.host_cpu = host_cpu_rows(run)
    if len(runs) > 1 and every.scenario.nunique() > 1:
        group.warnings.append(
            Notice("Runs of different scenarios are trended together: compare like with like.")
        )
    return group


def _model_for(
    env: str,
    run: pd.DataFrame,
    df: pd.DataFrame,
    before: list[str],
    excluded: set[str],
    earlier: Runs | None,
) -> NoiseModel:
    """The newest run's noise model: from the runs before it in `df` or, where the caller read
    them apart (the terminal, after a run), from `earlier`'s runs of the environment."""
    scenario = str(run.scenario.iloc[0])
    if earlier is None:
        return noise_model(df, scenario, before, excluded)
    if earlier.samples.empty:
        return EMPTY
    theirs = labelled(earlier.samples[earlier.samples.env == env])
    order = [str(r) for r in chronological(theirs.drop_duplicates("run")).run]
    return noise_model(theirs, scenario, order, earlier.not_history())


def noise_model(
    df: pd.DataFrame, scenario: str, earlier: list[str], excluded: set[str]
) -> NoiseModel:
    """The machine's noise from the earlier runs of one environment (`df`), with the host CPU
    per unit of work derived from them as the newest run's is."""
    return of_runs(df, scenario, earlier, excluded, _with_host_cost)


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
    earlier: Runs | None = None,
) -> list[Group]:
    """One Group per environment, newest first (`platforms`: each run's platform metadata;
    `history`: every run's stored costs when df holds only the newest runs, see Runs;
    `earlier`: runs taken before df's, read apart, for the machine's noise model; None: df's
    own earlier runs)."""
    if df.empty:
        return []
    df = labelled(df)
    reruns = {run for run, m in machines.items() if selected_cases(m)}
    groups = [
        _group(str(env), g, history, reruns, partial, earlier)
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
