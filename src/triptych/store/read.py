"""Runs read back from the store in the shape the report and the gate read files in (report.load
.Runs), so every figure is the same whichever way the runs came.

Only the samples a view needs are read: the report, each environment's newest run (its trend
lines come from the costs stored with every run); the gate, the newest run and the runs it is
compared against. A year of nightly runs on a fleet is then a few runs' worth of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from psycopg import sql

from triptych.results.columns import COLUMNS, STORED, TYPED
from triptych.results.digest import selected_cases
from triptych.results.load import CLOCK_SKEW, Runs, run_key
from triptych.store.schema import current
from triptych.store.url import StoreError
from triptych.verdict.noise_model import newest

RUNS_QUERY = """
SELECT id, name, machine, started, commit, env, partial, scenario,
  machine_info -> 'triptych' AS triptych
FROM runs
WHERE (%(machine)s::text IS NULL OR machine = %(machine)s)
  AND (%(since)s::timestamptz IS NULL OR started >= %(since)s)
ORDER BY {order}
"""
# The report orders by when runs were taken; the gate by when the store received them (a run's
# own date is the publisher's word: it never makes a run "tonight's").
BY_START, BY_RECEIPT = "started, id", "published, id"
SAMPLES_QUERY = sql.SQL("SELECT s.run_id, {} FROM samples s WHERE s.run_id = ANY(%s)").format(
    sql.SQL(", ").join(sql.Identifier("s", c) for c in STORED)
)
DETAILS_QUERY = "SELECT id, machine_info, platforms FROM runs WHERE id = ANY(%s)"
COSTS_QUERY = "SELECT run_id, family, label, cost FROM run_costs WHERE run_id = ANY(%s)"
HISTORY_COLUMNS = ["run", "env", "run_date", "commit", "scenario", "family", "label", "cost"]


@dataclass(frozen=True)
class Selection:
    """Which runs: of one machine (None: all), taken since a date (None: all)."""

    machine: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class StoredRun:
    id: int
    key: str  # its name in the report: file name @ machine (every machine's first is 0001_x)
    machine: str
    started: str
    commit: str
    env: str
    partial: bool
    scenario: str
    rerun: bool = False  # a run of some cases only (--triptych-cases)


def stored_runs(conn: Any, sel: Selection, order: str = BY_START) -> list[StoredRun]:  # noqa: ANN401
    """The selected runs' facts, oldest first (no samples)."""
    if current(conn) == 0:
        raise StoreError("the store holds no runs yet; publish some with `triptych publish`")
    with conn.cursor() as cur:
        cur.execute(RUNS_QUERY.format(order=order), {"machine": sel.machine, "since": sel.since})
        return [
            StoredRun(
                int(rid), run_key(name, machine), machine,
                started.isoformat() if started else "", commit, env, bool(partial), scenario,
                # A rerun by the one rule files are read by (the claim checked name by name).
                bool(selected_cases({"triptych": triptych})),
            )
            for rid, name, machine, started, commit, env, partial, scenario, triptych
            in cur.fetchall()
        ]  # fmt: skip


def load_chosen(conn: Any, chosen: list[StoredRun]) -> Runs:  # noqa: ANN401 - psycopg
    """The chosen runs with every sample, their machine and platform records."""
    runs = Runs(pd.DataFrame(columns=COLUMNS))
    by_id = {r.id: r for r in chosen}
    with conn.cursor() as cur:
        cur.execute(DETAILS_QUERY, [list(by_id)])
        for rid, machine_info, platforms in cur.fetchall():
            runs.machines[by_id[rid].key] = machine_info
            runs.platforms[by_id[rid].key] = platforms
        cur.execute(SAMPLES_QUERY, [list(by_id)])
        rows = cur.fetchall()
    runs.partial = {r.key for r in chosen if r.partial}
    runs.samples = _frame(rows, by_id)
    return runs


def history(conn: Any, runs: list[StoredRun]) -> pd.DataFrame:  # noqa: ANN401 - psycopg
    """Every run's stored costs, one row per run, family and column (the trend lines)."""
    by_id = {r.id: r for r in runs}
    with conn.cursor() as cur:
        cur.execute(COSTS_QUERY, [list(by_id)])
        rows = [
            (by_id[rid].key, by_id[rid].env, by_id[rid].started, by_id[rid].commit,
             by_id[rid].scenario, family, label, float(cost))
            for rid, family, label, cost in cur.fetchall()
        ]  # fmt: skip
    # A run whose costs are none (a single platform) still counts as a run of its environment.
    seen = {row[0] for row in rows}
    rows += [
        (r.key, r.env, r.started, r.commit, r.scenario, "", "", float("nan"))
        for r in runs
        if r.key not in seen
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def newest_per_environment(runs: list[StoredRun]) -> list[StoredRun]:
    """Each environment's newest run of every case: a rerun of some cases only where the
    environment has no other (the report's table is of the night, the rerun in its trends)."""
    newest: dict[str, StoredRun] = {}
    for r in runs:  # oldest first: the last one seen is the newest
        if not r.rerun or newest.get(r.env, r).rerun:
            newest[r.env] = r
    return list(newest.values())


def report_view(conn: Any, sel: Selection) -> Runs:  # noqa: ANN401 - psycopg
    """What the report reads: each environment's newest run, and every run's trend costs."""
    runs = stored_runs(conn, sel)
    if not runs:
        return Runs(pd.DataFrame(columns=COLUMNS))
    shown = newest_per_environment(runs)
    view = load_chosen(conn, shown)
    view.history = history(conn, runs)
    earlier = [r for s in shown for r in earlier_runs(runs, s)]
    view.earlier = load_chosen(conn, earlier) if earlier else None
    return view


def earlier_runs(runs: list[StoredRun], shown: StoredRun) -> list[StoredRun]:
    """The runs a shown run's noise model is taken from (verdict/noise_model.py): the newest
    WINDOW complete runs before it of its environment and scenario, none a rerun of some cases."""
    before = runs[: runs.index(shown)]
    alike = [r for r in before if r.env == shown.env and r.scenario == shown.scenario]
    return newest([r for r in alike if not r.partial and not r.rerun])


def gate_view(conn: Any, machine: str, last: int) -> Runs:  # noqa: ANN401 - psycopg
    """The machine's newest complete run and up to `last` complete runs before it in its
    environment (report.history picks the same ones from these)."""
    received = [r for r in stored_runs(conn, Selection(machine), BY_RECEIPT) if not r.partial]
    limit = datetime.now(UTC) + CLOCK_SKEW.to_pytimedelta()
    runs = [r for r in received if r.started and datetime.fromisoformat(r.started) <= limit]
    if not runs:
        return Runs(pd.DataFrame(columns=COLUMNS))
    newest = runs[-1]
    before = [r for r in runs[:-1] if r.env == newest.env and r.scenario == newest.scenario]
    before = before[-last:]
    view = load_chosen(conn, [*before, newest])
    view.warnings += [
        f"run {r.key} is dated {r.started or 'nothing'}, after the store's clock: it is left out "
        "of the gate, never taken as the newest run"
        for r in received
        if r not in runs
    ]
    return view


def _frame(rows: list[tuple[Any, ...]], by_id: dict[int, StoredRun]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["run_id", *STORED])
    data: dict[str, Any] = {loader: df[s] for s, loader in STORED.items()}
    ids = df["run_id"]
    for column, field in (("run", "key"), ("run_date", "started"), ("commit", "commit")):
        data[column] = ids.map({rid: getattr(r, field) for rid, r in by_id.items()})
    data["env"] = ids.map({rid: r.env for rid, r in by_id.items()})
    data["run_file"] = data["run"]
    out = pd.DataFrame(data)
    for c in COLUMNS:
        out[c] = (
            out[c].astype(np.dtype(TYPED[c]))
            if c in TYPED
            else out[c].astype(str).astype("category")
        )
    return out[COLUMNS].reset_index(drop=True)
