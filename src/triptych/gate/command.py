"""`triptych compare`: the runs it compares (two runs, or the newest against its history, from
files or a store), the gate's decision and its Markdown, also appended to the workflow's step
summary."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from triptych.errors import TriptychError
from triptych.gate.compare import Sides, changes, markdown, missing, refuse_incomparable
from triptych.gate.history import newest_against_history
from triptych.gate.inputs import (
    calibrating_note,
    check_calibrate,
    check_last,
    gate_notes,
    parse_thresholds,
    percent,
)
from triptych.results.load import Runs, load_runs
from triptych.store.choice import store_url


def _sides(args: argparse.Namespace) -> tuple[Runs, Runs, str, str]:
    url = store_url(args.store, files_named=args.baseline is not None)
    if args.last is not None:
        # The nightly gate: the newest run of this machine against the ones before it.
        if url is not None:
            from triptych.store.commands import gate_runs  # noqa: PLC0415 - psycopg on demand

            return newest_against_history(gate_runs(url, args.machine, args.last), args.last)
        if args.baseline is None or args.current is not None:
            raise TriptychError("--last N takes one directory of runs (or --store URL)")
        return newest_against_history(load_runs([Path(args.baseline)]), args.last)
    if args.baseline is None or args.current is None:
        raise TriptychError(
            "compare needs BASELINE and CURRENT, or --last N with a directory of runs or "
            "--store URL (the newest run against the N before it)"
        )
    baseline, current = load_runs([Path(args.baseline)]), load_runs([Path(args.current)])
    return baseline, current, args.baseline, args.current


def compare(args: argparse.Namespace) -> int:
    """`triptych compare`: exit 0 passes, 1 is a regression (or a missing case), 2 is a
    nightly gate still calibrating (fewer earlier runs than --calibrate) that found none."""
    # Bad arguments fail before any I/O.
    threshold = percent(str(args.threshold), "--threshold")
    thresholds = parse_thresholds(args.metric_threshold)
    check_last(args.last)
    check_calibrate(args.calibrate)
    baseline, current, base_name, cur_name = _sides(args)
    for name, runs, given in (("BASELINE", baseline, base_name), ("CURRENT", current, cur_name)):
        if runs.samples.empty:
            raise TriptychError(
                f"{name} {given}: no triptych results in it; "
                "pass a run saved by `pytest bench/ --benchmark-save=NAME`"
            )
    sides = Sides.of(baseline, current)
    refuse_incomparable(sides, args.allow_env_change)
    found = changes(sides, threshold, thresholds)
    lacking = missing(sides)
    notes = gate_notes(baseline, current, lacking, [c.decided_by for c in found])
    history = baseline.samples.run.nunique()
    calibrating = args.last is not None and history < args.calibrate
    if calibrating:
        notes.insert(0, calibrating_note(history, args.calibrate))
    text = markdown(found, base_name, cur_name, notes)
    print(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(text)
    failed = any(c.regression for c in found) or (lacking and not args.allow_missing)
    return 1 if failed else 2 if calibrating else 0
