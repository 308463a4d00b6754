"""`triptych compare`: the runs it compares (two runs, or the newest against its history, from
files or a store), the gate's decision and its Markdown, also appended to the workflow's step
summary; with a history, the regressions of record it keeps (gate/record.py: a file beside the
runs, or the store's table). `triptych accept`: a person closes an open regression as the new
normal."""

from __future__ import annotations

import argparse
import getpass
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from triptych.errors import TriptychError
from triptych.gate import confirm, memory, record, series
from triptych.gate.compare import Change, Sides, changes, missing, refuse_incomparable
from triptych.gate.history import newest_against_history
from triptych.gate.inputs import (
    calibrating_note,
    check_calibrate,
    check_last,
    check_window,
    gate_notes,
    parse_thresholds,
    percent,
)
from triptych.gate.summary import markdown, md, per_family
from triptych.results.labels import labelled
from triptych.results.load import Runs, chronological, load_runs
from triptych.results.sources import session_in
from triptych.store.choice import store_url
from triptych.verdict.noise_model import EMPTY, NoiseModel, of_runs


@dataclass(frozen=True)
class Chosen:
    baseline: Runs
    current: Runs
    base_name: str
    cur_name: str
    everything: Runs | None = None  # with --last: every run read (what changed is read here)


def _history(args: argparse.Namespace, reach: int) -> Runs:
    url = store_url(args.store, files_named=args.baseline is not None)
    if url is not None:
        from triptych.store.commands import gate_runs  # noqa: PLC0415 - psycopg on demand

        return gate_runs(url, args.machine, reach)
    if args.baseline is None or args.current is not None:
        raise TriptychError("--last N takes one directory of runs (or --store URL)")
    return load_runs([Path(args.baseline)])


def _sides(args: argparse.Namespace, kept: list[record.Regression] | None) -> Chosen:
    if args.last is not None:
        # The nightly gate: the newest run of this machine against the ones before it.
        reach = memory.reach(args.last, args.window, kept or [])
        runs = _history(args, reach)
        base, cur, base_name, cur_name = newest_against_history(runs, reach)
        return Chosen(base, cur, base_name, cur_name, runs)
    if args.baseline is None or args.current is None:
        raise TriptychError(
            "compare needs BASELINE and CURRENT, or --last N with a directory of runs or "
            "--store URL (the newest run against the N before it)"
        )
    baseline, current = load_runs([Path(args.baseline)]), load_runs([Path(args.current)])
    return Chosen(baseline, current, args.baseline, args.current)


def _noise(args: argparse.Namespace, chosen: Chosen) -> NoiseModel:
    """With --noise DIR: the machine's noise from the runs there taken before CURRENT in its
    environment and scenario (never CURRENT itself, a rerun of some cases or a partial run;
    BASELINE may be among them, as a history's runs are)."""
    if args.noise is None:
        return EMPTY
    if args.last is not None:
        raise TriptychError(
            "--noise DIR is for two runs; with --last N the history itself is the noise"
        )
    runs = load_runs([Path(args.noise)])
    current = labelled(chosen.current.samples)
    if runs.samples.empty or current.empty:
        return EMPTY
    env, scenario = str(current.env.iloc[0]), str(current.scenario.iloc[0])
    df = labelled(runs.samples[runs.samples.env == env])
    sessions = [session_in({"machine_info": m}) for m in chosen.current.machines.values()]
    excluded = runs.not_history(sessions) | set(chosen.current.machines)
    taken = max(str(d) for d in current.run_date.unique())
    firsts = chronological(df.drop_duplicates("run"))
    dates = dict(zip(firsts.run.astype(str), firsts.run_date.astype(str), strict=True))
    order = list(dates)
    return of_runs(df, scenario, [r for r in order if dates[r] < taken], excluded)


def _keeper(args: argparse.Namespace) -> record.Keeper | None:
    """Where the nightly gate keeps its regressions of record: --regressions, else beside a
    directory of runs, else in the store it reads (this machine's, or --machine's); none for
    two runs compared by hand."""
    if args.last is None:
        if args.regressions:
            raise TriptychError("--regressions goes with --last: the nightly gate keeps them")
        return None
    if args.regressions:
        return record.FileKeeper(Path(args.regressions))
    if args.baseline is not None and Path(args.baseline).is_dir():
        return record.FileKeeper(Path(args.baseline) / record.FILE)
    return _store_keeper(store_url(args.store, files_named=args.baseline is not None), args)


def _store_keeper(url: str | None, args: argparse.Namespace) -> record.Keeper | None:
    if url is None:
        return None
    from triptych.store.commands import this_machine  # noqa: PLC0415 - psycopg on demand
    from triptych.store.regressions import StoreKeeper  # noqa: PLC0415

    return StoreKeeper(url, args.machine or this_machine())


def _checked(args: argparse.Namespace) -> tuple[float, dict[str, float]]:
    """The thresholds, once every argument is checked: bad arguments fail before any I/O."""
    threshold = percent(str(args.threshold), "--threshold")
    thresholds = parse_thresholds(args.metric_threshold)
    check_last(args.last)
    check_calibrate(args.calibrate)
    check_window(args.window)
    if (args.flagged or args.confirming) and args.last is None:
        raise TriptychError("--flagged and --confirming go with --last: the nightly gate's")
    if args.flagged:
        confirm.check_flagged(Path(args.flagged))
    return threshold, thresholds


def compare(args: argparse.Namespace) -> int:
    """`triptych compare`: exit 0 passes, 1 is a regression (with a record of them: a confirmed
    one still open) or a missing case, 2 is undecided: a nightly gate still calibrating (fewer
    earlier runs than --calibrate), or with a suspected regression (one night so far)."""
    threshold, thresholds = _checked(args)
    keeper = _keeper(args)
    kept = keeper.load() if keeper else None
    chosen = _sides(args, kept)
    _not_empty(chosen)
    sides = Sides.of(chosen.baseline, chosen.current, _noise(args, chosen))
    refuse_incomparable(sides, args.allow_env_change)
    history = memory.History.of(chosen.baseline, chosen.current)
    regs = kept or []
    only = (
        confirm.confirming_keys(sides, regs, history, chosen.cur_name) if args.confirming else None
    )
    steps: list[series.Shift] = []
    notes: list[str] = []
    series_caught = None
    if args.last is not None:
        # Each metric's series first (every night read), then its baseline for tonight alone.
        margins = {k: thresholds.get(k[1], threshold) for k in sides.base}
        stepping = sides if only is None else sides.restricted(only)
        per = series.nightly(stepping, regs, history, chosen.cur_name, args.window)
        steps = series.steps_in(per, stepping, margins)
        series_caught = per_family([c[1:] for c in series.catchable_steps(per, stepping, margins)])
        sides, notes = memory.baseline_without(sides, regs, history, args.last)
    found = changes(sides, threshold, thresholds, only)
    if only is not None:
        notes.append(confirm.undecided_note(only, found))
    lacking = missing(sides)
    nights = max((len(s.runs) for s in sides.base.values()), default=0)
    notes = [*gate_notes(chosen.baseline, chosen.current, lacking, [c.decided_by for c in found],
                         nights, len(sides.noise.runs)), *notes]  # fmt: skip
    calibrating = args.last is not None and nights < args.calibrate
    if calibrating:
        notes.insert(0, calibrating_note(nights, args.calibrate))
    still: list[record.Regression] | None = None
    if keeper is not None and kept is not None:
        still = _keep(keeper, kept, found, steps, history, chosen, notes)
    everything = chosen.everything or chosen.current
    of_record = memory.open_lines(still or [], everything, history)
    stepped = [s for s in steps if s.regression]
    if args.flagged:
        _flag(Path(args.flagged), still or [], history, notes)
    names = (chosen.base_name, chosen.cur_name)
    _say(markdown(found, *names, notes, of_record, _steps(stepped), series_caught))
    if lacking and not args.allow_missing:
        return 1
    return _verdict(found, stepped, still, calibrating)


def _verdict(
    found: list[Change],
    stepped: list[series.Shift],
    still: list[record.Regression] | None,
    calibrating: bool,
) -> int:
    """The exit code, every case present: 0 passes, 1 a regression, 2 undecided."""
    if still is None:  # no record: tonight alone decides
        regressed = any(c.regression for c in found) or bool(stepped)
        return 1 if regressed else 2 if calibrating else 0
    # With a record, a regression fails once confirmed (a second night, or a lasting step);
    # one night alone is suspected: undecided, as Pinpoint's UNKNOWN is.
    if any(r.confirmed for r in still):
        return 1
    return 2 if calibrating or still else 0


def _flag(
    path: Path, still: list[record.Regression], history: memory.History, notes: list[str]
) -> None:
    """List the suspected regressions' cases and platforms for a rerun tonight (none: no
    file)."""
    pairs = confirm.flagged(still, history)
    confirm.write_flagged(path, pairs)
    if pairs:
        notes.append(
            f"rerun the suspected case(s) tonight to decide them: {confirm.shown(pairs)} "
            f"(listed in {path}; `triptych compare --last N --confirming` gates the rerun)"
        )


def _not_empty(chosen: Chosen) -> None:
    for name, runs, given in (
        ("BASELINE", chosen.baseline, chosen.base_name),
        ("CURRENT", chosen.current, chosen.cur_name),
    ):
        if runs.samples.empty:
            raise TriptychError(
                f"{name} {given}: no triptych results in it; "
                "pass a run saved by `pytest bench/ --benchmark-save=NAME`"
            )


def _say(text: str) -> None:
    """Print the summary, and append it to the workflow's step summary when there is one."""
    print(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(text)


def _steps(stepped: list[series.Shift]) -> list[str]:
    return [
        f"{' / '.join(s.key)}: {s.cost:.2f}x worse from {s.first_run} on ({len(s.nights)} "
        f"night(s); adjusted p {s.p:.2g})"
        for s in stepped
    ]


def _keep(
    keeper: record.Keeper,
    kept: list[record.Regression],
    found: list[Change],
    steps: list[series.Shift],
    history: memory.History,
    chosen: Chosen,
    notes: list[str],
) -> list[record.Regression]:
    """Update the record with tonight (its findings, and its series' steps), save it, and
    return this history's open regressions."""
    newest = chosen.cur_name
    runs = (chosen.everything or chosen.current).samples.drop_duplicates("run")
    dates = {
        str(k): v if isinstance(v, str) else ""
        for k, v in zip(runs.run, runs.run_date, strict=True)
    }
    regressions, opened, reverted = memory.tonight(
        kept, found, history, newest, dates.get(newest, "")
    )
    by_steps = series.opened_by_shifts(steps, regressions, history, dates)
    regressions += by_steps
    keeper.save(regressions)
    if opened or by_steps:
        notes.append(
            f"{len(opened) + len(by_steps)} regression(s) opened tonight ({len(by_steps)} by a "
            "step over the series): they stay open, and out of their metric's baseline, until "
            f"accepted (`triptych accept`) or reverted ({keeper.place})"
        )
    notes += [
        f"{r.case} / {r.metric} / {r.platform}: reverted tonight (open since {r.first_run})"
        for r in reverted
    ]
    still = memory.open_now(regressions, history)
    suspected = [r for r in still if not r.confirmed]
    if suspected:
        notes.append(
            f"{len(suspected)} regression(s) suspected: one regressed night each; the gate "
            "fails when a rerun of their cases or the next night regresses again (it confirms "
            "them) and clears them when it is back within the threshold; until then the gate "
            "is undecided (exit 2)"
        )
    return still


def _accept_keeper(args: argparse.Namespace) -> record.Keeper:
    """The record a person accepts in: a file (or the directory of runs holding it), else the
    store's rows of this machine (or --machine's)."""
    if args.record:
        path = Path(args.record)
        return record.FileKeeper(path / record.FILE if path.is_dir() else path)
    keeper = _store_keeper(store_url(args.store), args)
    if keeper is None:
        raise TriptychError(
            "accept needs the record: a regressions file or the directory of runs that holds "
            "it, or --store URL (or TRIPTYCH_STORE) for the store's"
        )
    return keeper


def accept(args: argparse.Namespace) -> int:
    """`triptych accept`: close an open regression of record as the new normal (or list them)."""
    keeper = _accept_keeper(args)
    kept = keeper.load()
    if args.list:
        open_ = [r for r in kept if r.state == record.OPEN]
        for r in open_:
            print(
                f"triptych: open: {md(r.case)} / {md(r.metric)} / {md(r.platform)} since "
                f"{md(r.first_run)} ({len(r.nights)} night(s), first {r.cost:.2f}x worse) in "
                f"{md(r.env)}"
            )
        print(f"triptych: {len(open_)} open regression(s) in {keeper.place}")
        return 0
    if not (args.case and args.metric and args.platform):
        raise TriptychError(
            "accept needs --case, --metric and --platform (as `triptych accept --list` shows "
            "them) and --reason, or --list"
        )
    by = args.by or os.environ.get("SUDO_USER") or getpass.getuser()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    key = (args.case, args.metric, args.platform)
    done = record.accept(kept, keeper.place, key, args.env, by, when, args.reason or "")
    keeper.save(kept)
    print(
        f"triptych: accepted {md(done.case)} / {md(done.metric)} / {md(done.platform)} (open "
        f"since {md(done.first_run)}) by {md(by)} at {when}: from its first night on, its "
        "nights are its baseline"
    )
    return 0
