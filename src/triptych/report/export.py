"""The verdicts as data: `triptych report --json FILE` writes what the HTML and the terminal
show, from the same objects (report/model.py), under a versioned schema.

Schema `triptych-verdicts/1`:
  {"schema": "triptych-verdicts/1",
   "groups": [{                       # one per environment, as the report groups runs
     "env": str, "latest": run name, "runs": [run names, oldest first],
     "cells": [{"family", "case", "metric", "unit",
                "direction": "higher is better" | "lower is better",
                "headline": bool,     # the case's primary metric
                "column": {"label", "platform", "variant", "profile", "emulated"},
                "setups": int, "rounds": int, "median": float,
                "borrowed": "history" | "default" | "",   # where a one-set-up interval's
                                      # set-up spread came from: this machine's earlier runs of
                                      # the scenario, or its family's default; "": none borrowed
                "looks": int,         # how often its sequential set-ups could have stopped
                                      # (its interval and tests are widened for them); 1: fixed
                "cost": float | null, "low": float | null, "high": float | null,
                "verdict": "slower" | "faster" | "same" | "undetermined" | "untestable" | null,
                "said": str,          # the sentence the report and the terminal print
                "detectable": float | null}],   # smallest cost it could have called slower
     "summary": [{"family", "label", "cost", "cases": [str], "verdicts": [str]}],
     "notices": [{"text": str, "loud": bool}],
     "open_regressions": [{"case", "metric", "platform", "scenario", "first_run", "first_date",
                           "nights": int, "cost": float, "last_good",
                           "changed": [str],
                           "confirmed": str,
                           "machine": str}],  # the nightly gate's, when given its record;
                                                # confirmed: the night that confirmed it, ""
                                                # while suspected (one night); machine: the
                                                # runner (a store's record), "" in a file's
     "series_caught": null | {        # what the nightly gate's series test could catch within
       "scenario": str, "newest": run name, "nights": int, "threshold": float,  # 3 nights
       "tested": int,                 # the metrics decided together (Holm): long enough series
       "metrics": [{"case", "metric", "column", "family",
                    "caught": float | null}],   # a cost; null: nothing can be claimed yet
       "families": [{"family", "median", "low", "high", "metrics": int}]}}]}
                                      # null: fewer than the gate's 5 earlier runs of the
                                      # newest run's environment and scenario
`profile` is what a platform runs side by side: a guest profile or a container runtime ("" when
it runs once). Costs are oriented by the metric's direction: > 1 costs more than the host. A
cell with no host to compare against (the host's own) has null cost, interval and verdict.
Non-finite figures are null. A new field may be added under the same version; a field renamed
or removed, or a meaning changed, is a new version.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from triptych.report.model import Cell, Group, Row
from triptych.report.of_record import OpenRegression
from triptych.report.series_caught import SeriesCaught
from triptych.verdict.effect import describe

SCHEMA = "triptych-verdicts/1"


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _cell(g: Group, r: Row, c: Cell) -> dict[str, Any]:
    col = g.columns.get(c.label)
    e = c.effect
    return {
        "family": r.family,
        "case": r.case,
        "metric": r.metric,
        "unit": r.unit,
        "direction": "higher is better" if r.higher_is_better else "lower is better",
        "headline": r.headline,
        "column": {
            "label": c.label,
            "platform": col.platform if col else "",
            "variant": col.variant if col else "",
            "profile": col.profile if col else "",
            "emulated": col.emulated if col else False,
        },
        "setups": c.setups,
        "borrowed": c.borrowed,
        "looks": c.comparison.looks if c.comparison is not None else 1,
        "rounds": c.n,
        "median": _num(c.median),
        "cost": _num(e.cost) if e else None,
        "low": _num(e.low) if e else None,
        "high": _num(e.high) if e else None,
        "verdict": e.verdict if e else None,
        "said": describe(e) if e else "",
        "detectable": _num(e.detectable) if e else None,
    }


def _caught(c: SeriesCaught) -> dict[str, Any]:
    return {
        "scenario": c.scenario,
        "newest": c.newest,
        "nights": c.nights,
        "threshold": c.threshold,
        "tested": c.tested,
        "metrics": [
            {
                "case": m.case,
                "metric": m.metric,
                "column": m.column,
                "family": m.family,
                "caught": _num(m.caught),
            }
            for m in c.metrics
        ],
        "families": [asdict(r) for r in c.families],
    }


def verdicts(
    groups: list[Group],
    open_regressions: Callable[[Group], list[OpenRegression]] | None = None,
    series_caught: Callable[[Group], SeriesCaught | None] | None = None,
) -> dict[str, Any]:
    """Every cell, the family summary, the notices, the open regressions of record and what the
    nightly gate's series test could catch, of each group."""
    out = []
    for g in groups:
        cells = [
            _cell(g, r, c)
            for r in g.rows
            for c in ([r.host] if r.host else []) + list(r.cells.values())
        ]
        summary = [
            {"family": family, "label": label, "cost": _num(s.cost),
             "cases": list(s.cases), "verdicts": list(s.verdicts)}
            for family, by_label in g.summary.items()
            for label, s in by_label.items()
        ]  # fmt: skip
        notices = [{"text": n.text, "loud": n.loud} for n in g.warnings]
        regressions = [asdict(r) for r in open_regressions(g)] if open_regressions else []
        caught = series_caught(g) if series_caught else None
        out.append(
            {"env": g.env, "latest": g.latest, "runs": list(g.runs), "cells": cells,
             "summary": summary, "notices": notices, "open_regressions": regressions,
             "series_caught": _caught(caught) if caught else None}
        )  # fmt: skip
    return {"schema": SCHEMA, "groups": out}
