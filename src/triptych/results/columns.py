"""The samples' columns, declared once: the loader's DataFrame (names, order and types), the
store's `samples` table (its COPY order, the columns each migration adds) and the loader's cache
version all read this table.

A run-level column (the run, its file, date, commit and environment) is in the DataFrame only: the
store keeps it once in `runs`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from triptych.host_cpu import PARTS

LEVELS = ("run", "case", "round", "sample")
# How a kind of value is held: in the DataFrame (a dtype by name: no numpy import here, so the
# loader's workers stay small), in PostgreSQL, and the store's default for rows
# stored before the column existed.
KINDS: dict[str, tuple[str, str, str]] = {
    "text": ("category", "text", "''"),
    "real": ("float64", "double precision", "NULL"),
    "int": ("int64", "integer", "0"),
    "flag": ("bool", "boolean", "false"),
}


@dataclass(frozen=True)
class Col:
    name: str  # in the DataFrame
    kind: str  # a key of KINDS
    store: str | None = ""  # in the store's samples table ("": the same name; None: not there)
    nullable: bool = False  # NaN in the DataFrame, NULL in the store
    since: int = 1  # the store schema version that added it
    # What one value describes: the run, one case record, one round or one sample. A digest
    # holds each column once a value (results/digest.py); the loader repeats it per sample.
    level: str = "case"

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"column {self.name}: level {self.level!r} is not one of {LEVELS}")

    @property
    def stored_as(self) -> str:
        return self.name if self.store == "" else str(self.store)

    @property
    def dtype(self) -> str:
        return KINDS[self.kind][0]

    @property
    def sql(self) -> str:
        """The column's PostgreSQL definition."""
        null = "" if self.nullable else " NOT NULL"
        return f"{self.stored_as} {KINDS[self.kind][1]}{null}"


COLUMNS_TABLE: tuple[Col, ...] = (
    Col("run", "text", None, level="run"),
    Col("run_file", "text", None, level="run"),
    Col("run_date", "text", None, level="run"),
    Col("commit", "text", None, level="run"),
    Col("env", "text", None, level="run"),
    Col("scenario", "text"),
    Col("case", "text", "case_name"),
    Col("workload", "text"),
    Col("family", "text"),
    Col("platform", "text"),
    Col("variant", "text"),
    Col("profile", "text"),
    Col("metric", "text", level="sample"),
    Col("unit", "text", level="sample"),
    Col("higher_is_better", "flag", level="sample"),
    Col("round", "int", level="round"),
    Col("pass", "int", "pass_index", since=3, level="round"),
    Col("setup", "int", since=3, level="round"),
    Col("value", "real", level="sample"),
    Col("foreign_cpu", "real", nullable=True, level="round"),  # NaN: not recorded (older runs)
    Col("layer", "text"),
    Col("acceleration", "text"),
    Col("primary_metric", "text"),
    Col("primary", "flag", "is_primary"),
    Col("emulated", "flag"),
    Col("rank", "int"),
    Col("series", "text"),
    Col("sweep_axis", "text", since=3),
    # NaN: not a point of a sweep. In the store since 1, as `connections` until 3.
    Col("sweep_value", "real", nullable=True),
    Col("placement", "text", level="round"),
    # The round's host CPU by part (host_cpu.py), CPU-seconds, and its wall seconds; NaN: not
    # recorded (runs before them).
    *(Col(f"cpu_{part}", "real", nullable=True, since=4, level="round") for part in PARTS),
    Col("round_wall", "real", nullable=True, since=4, level="round"),
    # How often the case's sequential set-ups could have stopped (1: a fixed design; 0 in the
    # store for rows before it, read as 1).
    Col("looks", "int", since=6),
)

COLUMNS = [c.name for c in COLUMNS_TABLE]
LEVEL = {c.name: c.level for c in COLUMNS_TABLE}
# Columns that are not text (the others are categorical strings).
TYPED: dict[str, str] = {c.name: c.dtype for c in COLUMNS_TABLE if c.kind != "text"}
# The store's samples columns, in COPY order, and the DataFrame column each is filled from.
STORED = {c.stored_as: c.name for c in COLUMNS_TABLE if c.store is not None}
NULLABLE = frozenset(c.stored_as for c in COLUMNS_TABLE if c.store is not None and c.nullable)


def level_lengths(rounds: Sequence[int], samples: Sequence[int]) -> dict[str, int] | None:
    """How many values each level's columns hold, from the rounds of each case and the
    samples of each round; None where the counts disagree (a negative count, or case counts
    summing to other than the rounds counted)."""
    if any(n < 0 for n in rounds) or any(n < 0 for n in samples) or sum(rounds) != len(samples):
        return None
    return {"run": 1, "case": len(rounds), "round": len(samples), "sample": sum(samples)}


def added_in(version: int) -> list[str]:
    """The ALTER TABLE clauses adding the samples columns that store version `version` added."""
    return [
        f"ADD COLUMN {c.sql} DEFAULT {KINDS[c.kind][2]}"
        for c in COLUMNS_TABLE
        if c.store is not None and c.since == version
    ]


def table_digest() -> str:
    """A short digest of the table: the loader's cache is keyed by it, so a column added or
    retyped can never be read from a cache written before."""
    text = repr([(c.name, c.kind, c.store, c.nullable, c.level) for c in COLUMNS_TABLE])
    return hashlib.sha256(text.encode()).hexdigest()[:12]
