"""The nightly gate's sides: a machine's newest run, against the runs before it that were taken
in the same environment (never the newest itself), from files or from the store alike."""

from __future__ import annotations

from triptych.errors import TriptychError
from triptych.report.load import Runs, chronological


def subset(runs: Runs, keys: list[str]) -> Runs:
    """The given runs of runs."""
    chosen = set(keys)
    return Runs(
        runs.samples[runs.samples.run.isin(chosen)].reset_index(drop=True),
        {k: v for k, v in runs.machines.items() if k in chosen},
        {k: v for k, v in runs.platforms.items() if k in chosen},
        runs.partial & chosen,
        list(runs.warnings),
    )


def newest_against_history(runs: Runs, last: int) -> tuple[Runs, Runs, str, str]:
    """(baseline, current, baseline's name, current's name): the newest complete run, and up to
    `last` complete runs before it in its environment (machine, CPU, kernel, virtualisation)."""
    firsts = runs.samples.drop_duplicates("run")
    firsts = chronological(firsts[~firsts.run.isin(runs.partial)])
    if firsts.empty:
        raise TriptychError("no complete run to gate; run the suite first")
    newest = firsts.iloc[-1]
    same = firsts[(firsts.env == newest.env) & (firsts.run != newest.run)]
    before = [str(r) for r in same.run][-last:]
    if not before:
        raise TriptychError(
            f"no earlier run of this machine in the newest run's environment ({newest.env}): "
            "nothing to gate against (a new machine, or its kernel changed); the next runs gate"
        )
    name = f"{len(before)} earlier run(s) in the same environment"
    return subset(runs, before), subset(runs, [str(newest.run)]), name, str(newest.run)
