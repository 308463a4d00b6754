"""The report's list of open regressions of record (gate/record.py), per environment: each
with its first night, how long it has been open and what changed around it. Only what the
record saved, read as untrusted input like every file the report reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from triptych.gate.record import FILE, OPEN, Regression, load
from triptych.results.differences import what_changed
from triptych.results.load import Runs


@dataclass(frozen=True)
class OpenRegression:
    case: str
    metric: str
    platform: str
    scenario: str
    first_run: str
    first_date: str
    nights: int
    cost: float
    last_good: str
    changed: list[str]
    confirmed: str  # the night that confirmed it; "": suspected (one night so far)
    machine: str  # the runner it was found on (a store's record); "": the directory's own


def records_in(paths: list[Path], given: Path | None = None) -> list[Regression]:
    """The regressions of record: `given`, else each directory's own record where it has one."""
    files = [given] if given else [p / FILE for p in paths if (p / FILE).is_file()]
    return [r for f in files for r in load(f).regressions]


def open_in(env: str, regressions: list[Regression], runs: Runs) -> list[OpenRegression]:
    return [
        OpenRegression(
            r.case,
            r.metric,
            r.platform,
            r.scenario,
            r.first_run,
            r.first_date[:10],
            len(r.nights),
            r.cost,
            r.last_good,
            what_changed(runs, r.last_good, r.first_run),
            r.confirmed,
            r.machine,
        )
        for r in regressions
        if r.state == OPEN and r.env == env
    ]
