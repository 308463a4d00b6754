"""Runs read back from the store in the shape the report and the gate read files in (report.load
.Runs), so every figure is the same whichever way the runs came."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from psycopg import sql

from triptych.report.load import COLUMNS, TYPED, Runs
from triptych.store.publish import SAMPLE_COLUMNS
from triptych.store.schema import current
from triptych.store.url import StoreError


@dataclass(frozen=True)
class Selection:
    """Which runs: of one machine (None: all), taken since a date, the newest `last` per
    machine (None: all)."""

    machine: str | None = None
    since: datetime | None = None
    last: int | None = None


def run_key(name: str, machine: str) -> str:
    """A stored run's name in the report: its file name and machine (every machine's first run
    is 0001_x)."""
    return f"{name}@{machine}"


RUNS_QUERY = """
SELECT id, name, machine, started, commit, env, partial, machine_info, platforms FROM (
    SELECT *, row_number() OVER (PARTITION BY machine ORDER BY started DESC, id DESC) AS newest
    FROM runs
    WHERE (%(machine)s::text IS NULL OR machine = %(machine)s)
      AND (%(since)s::timestamptz IS NULL OR started >= %(since)s)
) r
WHERE %(last)s::integer IS NULL OR newest <= %(last)s
ORDER BY started, id
"""
SAMPLES_QUERY = sql.SQL("SELECT s.run_id, {} FROM samples s WHERE s.run_id = ANY(%s)").format(
    sql.SQL(", ").join(sql.Identifier("s", c) for c in SAMPLE_COLUMNS)
)


def _runs(cur: Any, sel: Selection) -> list[tuple[Any, ...]]:  # noqa: ANN401 - a psycopg cursor
    cur.execute(RUNS_QUERY, {"machine": sel.machine, "since": sel.since, "last": sel.last})
    return list(cur.fetchall())


def load_store(conn: Any, sel: Selection) -> Runs:  # noqa: ANN401 - a psycopg connection
    """The selected runs, as report.load.load_runs would read them from files."""
    if current(conn) == 0:
        raise StoreError("the store holds no runs yet; publish some with `triptych publish`")
    runs = Runs(pd.DataFrame(columns=COLUMNS))
    with conn.cursor() as cur:
        chosen = _runs(cur, sel)
        if not chosen:
            return runs
        meta = {}
        for rid, name, machine, started, commit, env, partial, machine_info, platforms in chosen:
            key = run_key(name, machine)
            meta[rid] = (key, started.isoformat() if started else "", commit, env)
            runs.machines[key] = machine_info
            runs.platforms[key] = platforms
            if partial:
                runs.partial.add(key)
        cur.execute(SAMPLES_QUERY, [list(meta)])
        rows = cur.fetchall()
    runs.samples = _frame(rows, meta)
    return runs


def _frame(rows: list[tuple[Any, ...]], meta: dict[int, tuple[str, str, str, str]]) -> pd.DataFrame:
    store = ["run_id", *SAMPLE_COLUMNS]
    df = pd.DataFrame(rows, columns=store)
    data: dict[str, Any] = {loader: df[s] for s, loader in SAMPLE_COLUMNS.items()}
    ids = df["run_id"]
    for i, column in enumerate(("run", "run_date", "commit", "env")):
        data[column] = ids.map({rid: m[i] for rid, m in meta.items()})
    data["run_file"] = data["run"]
    out = pd.DataFrame(data)
    for c in COLUMNS:
        if c in TYPED:
            out[c] = (
                out[c].astype(TYPED[c])
                if c not in ("foreign_cpu", "connections")
                else out[c].astype(float)
            )
        else:
            out[c] = out[c].astype(str).astype("category")
    return out[COLUMNS].reset_index(drop=True)
