"""The nightly gate's regressions of record in the store (`regressions`, schema 5): one row per
regression of each machine, so a runner reimaged forgets none and the fleet's report lists every
machine's. Rows are untrusted input like a file's: each is checked field by field by the
record's own rules (gate/record.py). A machine's role replaces only its own machine's rows
(row-level security); the store's owner may replace any (a person accepting one)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from psycopg.types.json import Jsonb

from triptych.gate.record import MOST, Regression, regression_of
from triptych.store.commands import store
from triptych.store.schema import migrate
from triptych.store.url import StoreError, shown
from triptych.validate import has_control

# The record's fields as the table's columns (`case` is a word of SQL's own).
FIELDS = [f for f in Regression.__dataclass_fields__ if f != "machine"]
COLUMN = {f: "case_name" if f == "case" else f for f in FIELDS}
SELECT = (
    f"SELECT machine, {', '.join(COLUMN[f] for f in FIELDS)} FROM regressions "  # noqa: S608
    "WHERE (%(machine)s::text IS NULL OR machine = %(machine)s) ORDER BY machine, position "
    "LIMIT %(most)s"
)
INSERT = (
    f"INSERT INTO regressions (machine, position, {', '.join(COLUMN[f] for f in FIELDS)}) "  # noqa: S608
    f"VALUES (%s, %s, {', '.join(['%s'] * len(FIELDS))})"
)


FIX = (
    "it is not a row triptych wrote: delete that machine's rows from the store's regressions "
    "table (its open regressions are then forgotten) or restore the table from a backup"
)


def read(conn: Any, machine: str | None, place: str) -> list[Regression]:  # noqa: ANN401 - psycopg
    """The regressions of one machine (None: every machine's), in their records' order."""
    with conn.cursor() as cur:
        cur.execute(SELECT, {"machine": machine, "most": MOST + 1})
        rows = cur.fetchall()
    if len(rows) > MOST:
        raise StoreError(f"{place}: more than {MOST} regressions of record; {FIX}")
    out = []
    for who, *values in rows:
        named = json.dumps(str(who))[:80]  # escaped: the row is not ours until checked
        r = regression_of(dict(zip(FIELDS, values, strict=True)), place,
                          f"the regressions row of machine {named}", FIX)  # fmt: skip
        if not isinstance(who, str) or not who or has_control(who):
            raise StoreError(
                f"{place}: a regressions row's machine {named} is not a host name; {FIX}"
            )
        out.append(replace(r, machine=who))
    return out


def write(conn: Any, machine: str, regressions: list[Regression]) -> None:  # noqa: ANN401
    """Replace the machine's rows with these, in one transaction; a credential that may not
    publish the machine's runs may not keep its record either (the store's row-level security
    would pass over its rows in silence: this says so)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT triptych_owns_store() OR triptych_may_publish(%s)", (machine,))
        allowed = cur.fetchone()
        if not allowed or not allowed[0]:
            raise StoreError(
                f"this credential may not keep the regressions of machine {machine!r}: give "
                "the machine's own (or the store owner's), or --machine for the machine it is"
            )
        cur.execute("DELETE FROM regressions WHERE machine = %s", (machine,))
        cur.executemany(
            INSERT,
            [(machine, i, *(_value(r, f) for f in FIELDS)) for i, r in enumerate(regressions)],
        )


def _value(r: Regression, name: str) -> object:
    value = getattr(r, name)
    return Jsonb(list(value)) if name == "nights" else value


@dataclass(frozen=True)
class StoreKeeper:
    """The record of one machine, kept in the store."""

    url: str
    machine: str

    @property
    def place(self) -> str:
        return f"store {shown(self.url)}, machine {self.machine}"

    def load(self) -> list[Regression]:
        with store(self.url) as conn:
            migrate(conn)
            return read(conn, self.machine, self.place)

    def save(self, regressions: list[Regression]) -> None:
        with store(self.url) as conn:
            migrate(conn)
            write(conn, self.machine, regressions)


def every_machine(url: str, machine: str | None) -> list[Regression]:
    """What the fleet's report lists: every machine's regressions (or one machine's)."""
    with store(url) as conn:
        migrate(conn)
        return read(conn, machine, f"store {shown(url)}")
