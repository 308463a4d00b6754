"""A saved run's document read into its case records and its samples' columns: the digest's
and the store's one reading of a run. Each record's head (case, platform, its facts) is read by
the record's own reader; its rounds straight into columns where they are plain
(plain_rounds.py), else by the record's reader too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from triptych.errors import TriptychError
from triptych.host_cpu import PARTS
from triptych.record import CaseRecord, parts_of
from triptych.results import plain_rounds
from triptych.results.columns import COLUMNS
from triptych.results.plain_rounds import NotPlain, RoundColumns

# What must match for two runs to be compared or trended together (pyperf's rule, ours).
ENV_KEYS = ("cpu_model", "cpu_count_logical", "kernel", "host_virtualization")


def env_key(machine: dict[str, Any]) -> str:
    """The environment a run was taken in, as one comparable string."""
    t = machine.get("triptych", {})
    t = t if isinstance(t, dict) else {}
    return " | ".join(f"{k}={_plain(t.get(k, '?'))}" for k in ENV_KEYS)


def _plain(v: object) -> str:
    return str(v) if isinstance(v, str | int | float | bool) else "?"


def machine_of(doc: dict[str, Any]) -> dict[str, Any]:
    """A run's machine_info, as an object whose `triptych` is an object (a damaged one: {})."""
    machine = doc.get("machine_info")
    if not isinstance(machine, dict):
        return {}
    if not isinstance(machine.get("triptych", {}), dict):
        return {**machine, "triptych": {}}
    return machine


def commit_of(doc: dict[str, Any]) -> str:
    """The run's commit id ("": none, or not text)."""
    info = doc.get("commit_info")
    commit = info.get("id") if isinstance(info, dict) else None
    return commit if isinstance(commit, str) else ""


def case_rounds(info: dict[str, Any], where: str) -> tuple[CaseRecord, list[RoundColumns]]:
    """One case record: its head (with no rounds where they were read as columns) and its
    rounds' columns. RecordError (from the record's reader) says what is wrong and the fix."""
    parts = parts_of(info)
    if parts is not None:
        try:
            head = CaseRecord.from_extra_info(parts.head, where)
            rounds = (
                plain_rounds.flat(parts.rounds, head.pass_index)
                if parts.flat
                else plain_rounds.measured(parts.rounds)
            )
        except (NotPlain, TriptychError):
            pass  # read whole below: it reads it, or says what is wrong
        else:
            return head, rounds
    record = CaseRecord.from_extra_info(info, where)
    return record, [plain_rounds.of_round(r) for r in record.measured]


def run_cases(path: Path, doc: dict[str, Any]) -> list[tuple[CaseRecord, list[RoundColumns]]]:
    """The run's cases (plain pytest-benchmark results in the same file are skipped)."""
    cases = []
    benchmarks = doc.get("benchmarks", [])
    if not isinstance(benchmarks, list):
        raise TriptychError(f"{path}: 'benchmarks' is not a list; remove it or restore it")
    for bench in benchmarks:
        info = bench.get("extra_info") if isinstance(bench, dict) else None
        if isinstance(info, dict) and CaseRecord.is_record(info):
            cases.append(case_rounds(info, f"{path}: benchmark {bench.get('name')}"))
    return cases


def platforms_of(records: list[CaseRecord]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        out.setdefault(
            f"{r.platform}.{r.profile}" if r.profile else r.platform, dict(r.platform_metadata)
        )
    return out


@dataclass
class Levels:
    """A run's columns, each once a value at its level (columns.py: the run, a case record, a
    round, a sample), and how many of the level below each holds: the rounds of each case
    (`rounds`), the samples of each round (`samples`)."""

    values: dict[str, list[Any]]
    rounds: list[int]
    samples: list[int]


def run_columns(path: Path, doc: dict[str, Any]) -> tuple[list[CaseRecord], Levels]:
    """The run's case records (their heads: the rounds are in the columns) and its columns,
    each filled a column at a time."""
    cases = run_cases(path, doc)
    records = [r for r, _ in cases]
    rounds = [rnd for _, case in cases for rnd in case]
    values: dict[str, list[Any]] = {
        "run": [path.stem],
        "run_file": [str(path)],
        "run_date": [doc.get("datetime", "")],
        "commit": [commit_of(doc)],
        "env": [env_key(machine_of(doc))],
    }
    values.update({key: list(map(get, records)) for key, get in _CASE_FACTS.items()})
    values.update({key: list(map(get, rounds)) for key, get in _ROUND_FACTS.items()})
    for key, get in _SAMPLE_FACTS.items():
        values[key] = [x for rnd in rounds for x in get(rnd)]
    ordered = {c: values[c] for c in COLUMNS}  # every column has its reader above
    return records, Levels(
        ordered, [len(case) for _, case in cases], [len(r.values) for r in rounds]
    )


def _spent(part: str) -> Callable[[RoundColumns], float]:
    """A round's host CPU of one part, or its wall time (NaN: not recorded)."""

    def get(rnd: RoundColumns) -> float:
        return math.nan if rnd.host_cpu is None else float(getattr(rnd.host_cpu, part))

    return get


# Each column's value, read from a case record, a round or a round's samples.
_CASE_FACTS: dict[str, Callable[[CaseRecord], Any]] = {
    "scenario": attrgetter("scenario"),
    "case": attrgetter("case"),
    "workload": attrgetter("workload"),
    "family": attrgetter("family"),
    "platform": attrgetter("platform"),
    "variant": attrgetter("variant"),
    "profile": attrgetter("profile"),
    "layer": lambda r: _text(r.platform_metadata.get("layer")),
    "acceleration": lambda r: _text(r.platform_metadata.get("acceleration")),
    "primary_metric": lambda r: r.primary_metric or "",
    "primary": attrgetter("primary_variant"),
    "emulated": attrgetter("emulated"),
    "rank": attrgetter("platform_rank"),
    "series": attrgetter("series"),
    "sweep_axis": attrgetter("sweep_axis"),
    "sweep_value": lambda r: math.nan if r.sweep_value is None else r.sweep_value,
    "looks": attrgetter("looks"),
}
_ROUND_FACTS: dict[str, Callable[[RoundColumns], Any]] = {
    "round": attrgetter("number"),
    "pass": attrgetter("pass_index"),
    "setup": attrgetter("setup"),
    "foreign_cpu": attrgetter("foreign_cpu"),
    "placement": attrgetter("placement"),
    **{f"cpu_{p}": _spent(p) for p in PARTS},
    "round_wall": _spent("wall"),
}
_SAMPLE_FACTS: dict[str, Callable[[RoundColumns], list[Any]]] = {
    "metric": attrgetter("metrics"),
    "unit": attrgetter("units"),
    "higher_is_better": attrgetter("higher"),
    "value": attrgetter("values"),
}


def _text(v: object) -> str:
    return v if isinstance(v, str) else ""
