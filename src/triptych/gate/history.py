"""The nightly gate's sides: a machine's newest run, against the runs before it that were taken
in the same environment (never the newest itself), from files or from the store alike.

"Newest" never rests on a run's own date alone: a run dated beyond a small clock skew into the
future (a wrong clock, or a hostile publisher), or with no readable date, would otherwise be the
newest forever and tonight's run never gated. Such a run is named in a warning and left out.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from triptych.errors import TriptychError
from triptych.results.digest import selected_cases
from triptych.results.load import CLOCK_SKEW, Runs, chronological


def subset(runs: Runs, keys: list[str], warnings: list[str] | None = None) -> Runs:
    """The given runs of runs (with `warnings`, else the runs' own)."""
    chosen = set(keys)
    return Runs(
        runs.samples[runs.samples.run.isin(chosen)].reset_index(drop=True),
        {k: v for k, v in runs.machines.items() if k in chosen},
        {k: v for k, v in runs.platforms.items() if k in chosen},
        runs.partial & chosen,
        list(runs.warnings) if warnings is None else warnings,
    )


def _dated(firsts: pd.DataFrame, now: datetime) -> tuple[pd.DataFrame, list[str]]:
    """The runs whose date is readable and not in the future, and a warning for each other."""
    when = pd.to_datetime(firsts.run_date.astype(str), utc=True, format="ISO8601", errors="coerce")
    limit = pd.Timestamp(now) + CLOCK_SKEW
    bad = when.isna() | (when > limit)
    warnings = [
        f"run {run} is dated {date or 'nothing readable'}, "
        + ("unreadable" if pd.isna(w) else f"after this machine's clock ({now:%Y-%m-%d %H:%M} UTC)")
        + ": it is left out of the gate, never taken as the newest run (a wrong clock, or a "
        "run published under a false date)"
        for run, date, w in zip(firsts.run[bad], firsts.run_date[bad], when[bad], strict=True)
    ]
    return firsts[~bad], warnings


def scenarios_of(runs: Runs) -> dict[str, str]:
    """Per run, the scenario(s) it ran, as one comparable string."""
    pairs = runs.samples[["run", "scenario"]].drop_duplicates()
    by: dict[str, set[str]] = {}
    for run, scenario in zip(pairs.run.astype(str), pairs.scenario.astype(str), strict=True):
        by.setdefault(run, set()).add(scenario)
    return {run: ",".join(sorted(found)) for run, found in by.items()}


def newest_against_history(
    runs: Runs, last: int, now: datetime | None = None
) -> tuple[Runs, Runs, str, str]:
    """(baseline, current, baseline's name, current's name): the newest complete run, and up to
    `last` complete runs before it in its environment (machine, CPU, kernel, virtualisation),
    reruns of some cases left out (one run a night)."""
    firsts = runs.samples.drop_duplicates("run")
    firsts, undated = _dated(firsts[~firsts.run.isin(runs.partial)], now or datetime.now(UTC))
    firsts = chronological(firsts)
    if firsts.empty:
        raise TriptychError(
            "no complete run to gate; run the suite first" + (f" ({undated[0]})" if undated else "")
        )
    newest = firsts.iloc[-1]
    # Of the same scenario(s) too: a quick run saved beside the nightly ones is no history of
    # theirs (its durations, rounds and cases differ).
    scenarios = scenarios_of(runs)
    mine = scenarios.get(str(newest.run), "")
    # A rerun of some cases (`--triptych-cases`) is its night's second look, not a night.
    rerun = firsts.run.map(lambda r: bool(selected_cases(runs.machines.get(str(r), {}))))
    same = firsts[
        (firsts.env == newest.env)
        & (firsts.run != newest.run)
        & (firsts.run.astype(str).map(scenarios) == mine)
        & ~rerun.astype(bool)
    ]
    before = [str(r) for r in same.run][-last:]
    if not before:
        raise TriptychError(
            f"no earlier run of this machine in the newest run's environment ({newest.env}) "
            f"and scenario ({mine}): nothing to gate against (a new machine, its kernel "
            "changed, or a new scenario); the next runs gate"
        )
    name = f"{len(before)} earlier run(s) in the same environment and scenario"
    current = subset(runs, [str(newest.run)], [*runs.warnings, *undated])
    return subset(runs, before, []), current, name, str(newest.run)
