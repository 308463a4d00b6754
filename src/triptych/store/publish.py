"""`triptych publish`: saved runs (and journals of runs that saved none) into the store.

Each run is one transaction: a run killed half-way leaves nothing. A run is known by its session
id, never its file name (every clean clone saves 0001_x): publishing it again stores nothing new,
and a complete run replaces the partial one published from its journal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import psycopg

from triptych.errors import TriptychError
from triptych.results.columns import COLUMNS, NULLABLE, STORED
from triptych.results.costs import trend_costs
from triptych.results.digest import digest_of, read_run
from triptych.results.labels import labelled
from triptych.results.load import samples_frame
from triptych.results.run_columns import commit_of, env_key, machine_of
from triptych.results.sources import Source, find_runs, sources
from triptych.store.schema import migrate

REFUSED = "refused by the store"


@dataclass(frozen=True)
class Published:
    name: str
    session: str
    outcome: str  # "stored", "replaced (was partial)", "already stored" or "skipped: WHY"


def _run_row(source: Source, doc: dict[str, Any], samples: int) -> dict[str, Any]:
    machine = machine_of(doc)
    triptych = machine.get("triptych") or {}
    groups = [b.get("group") for b in doc.get("benchmarks", []) if isinstance(b, dict)]
    scenarios = sorted({g.split("/")[0] for g in groups if isinstance(g, str)})
    return {
        "session": source.session,
        "name": source.name,
        "machine": _machine_name(machine),
        "env": env_key(machine),
        "started": doc.get("datetime") or None,
        "commit": commit_of(doc),
        "scenario": ",".join(s for s in scenarios if s) or str(triptych.get("scenario", "")),
        "partial": source.partial,
        "samples": samples,
    }


def _machine_name(machine: dict[str, Any]) -> str:
    node = machine.get("node")
    return node if isinstance(node, str) and node else "unknown"


def _copy_samples(cur: psycopg.Cursor[Any], run_id: int, cols: dict[str, list[Any]]) -> None:
    names = list(STORED)
    with cur.copy(f"COPY samples (run_id, {', '.join(names)}) FROM STDIN") as copy:
        for i in range(len(cols["value"])):
            row: list[Any] = [run_id]
            for store, loader in STORED.items():
                v = cols[loader][i]
                row.append(None if store in NULLABLE and math.isnan(float(v)) else v)
            copy.write_row(row)


def publish_source(conn: psycopg.Connection[Any], source: Source) -> Published:
    """One run, in one transaction."""
    doc = source.doc if source.doc is not None else read_run(source.path)
    digest = digest_of(source.path, doc)
    df = samples_frame([digest])
    cols = {c: df[c].tolist() for c in COLUMNS}
    row = _run_row(source, doc, len(df))
    machine_info = orjson.dumps(machine_of(doc)).decode()
    platforms = orjson.dumps(digest["platforms"], option=orjson.OPT_NON_STR_KEYS).decode()
    with conn.transaction(), conn.cursor() as cur:
        # Publishers of the same session queue here; the second finds it stored.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (source.session,))
        cur.execute("SELECT id, partial FROM runs WHERE session = %s", (source.session,))
        existing = cur.fetchone()
        outcome = "stored"
        if existing is not None:
            if not existing[1] or source.partial:
                return Published(source.name, source.session, "already stored")
            cur.execute("DELETE FROM runs WHERE id = %s", (existing[0],))
            outcome = "replaced (was partial)"
        cur.execute(
            "INSERT INTO runs (session, name, machine, env, started, commit, scenario, partial,"
            " samples, machine_info, platforms) VALUES (%(session)s, %(name)s, %(machine)s,"
            " %(env)s, %(started)s, %(commit)s, %(scenario)s, %(partial)s, %(samples)s,"
            " %(machine_info)s, %(platforms)s) RETURNING id",
            {**row, "machine_info": machine_info, "platforms": platforms},
        )
        created = cur.fetchone()
        assert created is not None
        run_id = int(str(created[0]))
        _copy_samples(cur, run_id, cols)
        cur.executemany(
            "INSERT INTO run_costs (run_id, family, label, cost) VALUES (%s, %s, %s, %s)",
            [(run_id, family, label, cost) for family, label, cost in run_costs(df)],
        )
    return Published(source.name, source.session, outcome)


def run_costs(df: pd.DataFrame) -> list[tuple[str, str, float]]:
    """The run's trend points, by the report's own arithmetic (summary.trend_costs)."""
    if df.empty:
        return []
    costs = trend_costs(labelled(df))
    return [(family, label, cost) for (_, family, label), cost in sorted(costs.items())]


def publish(conn: psycopg.Connection[Any], paths: list[Path]) -> list[Published]:
    """Every run under paths (saved files first, then journals of runs that saved nothing)."""
    migrate(conn)
    found = sources(find_runs(paths))
    # A night publishes its whole results directory: runs stored whole are not read again.
    stored = {str(s) for (s,) in conn.execute("SELECT session FROM runs WHERE NOT partial")}
    conn.commit()
    out = [Published("", "", w) for w in found.warnings if w.startswith("skipped ")]
    for s in found.runs:
        if not s.session:
            out.append(Published(s.name, "", f"skipped: {s.path} names no session id"))
        elif s.session in stored:
            out.append(Published(s.name, s.session, "already stored"))
        else:
            out.append(_publish_one(conn, s))
    return out


def _publish_one(conn: psycopg.Connection[Any], source: Source) -> Published:
    """One run, or why it was skipped: one damaged run never stops a night's publish."""
    try:
        return publish_source(conn, source)
    except TriptychError as e:
        conn.rollback()
        return Published(source.name, source.session, f"skipped: {e}")
    except psycopg.errors.InsufficientPrivilege:
        conn.rollback()
        return Published(
            source.name,
            source.session,
            f"{REFUSED}: this credential may not publish runs of machine "
            f"{_machine_name(machine_of(source.doc or read_run(source.path)))!r} (a machine's "
            "role publishes only its own machine's runs)",
        )
