"""What the gate reads besides the runs: per-metric thresholds from the command line, and the
notes a reader must see before trusting its verdict."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from triptych.errors import TriptychError
from triptych.gate import WINDOW
from triptych.gate.changepoint import MIN_SEGMENT
from triptych.gate.compare import FLOOR, NOISE, SETUPS
from triptych.results.load import Runs
from triptych.verdict.noise_model import MIN_RUNS


def percent(text: str, option: str) -> float:
    """A threshold given in percent, as a fraction: finite, from 0 to 100 (NaN or inf would
    switch the gate off)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise TriptychError(f"{option} {text!r}: give a percentage from 0 to 100, e.g. 5")
    return value / 100


def parse_thresholds(items: list[str]) -> dict[str, float]:
    """`metric=percent` pairs from the command line."""
    out = {}
    for item in items:
        metric, sep, pct = item.rpartition("=")
        if not sep or not metric.strip():
            raise TriptychError(
                f"--metric-threshold {item!r}: expected METRIC=PERCENT, "
                'e.g. --metric-threshold "tcp throughput=10"'
            )
        out[metric.strip()] = percent(pct, f"--metric-threshold {metric.strip()}=")
    return out


def check_last(last: int | None) -> None:
    if last is not None and last < 1:
        raise TriptychError(
            f"--last {last}: give the number of earlier runs to gate against, 1 or more "
            "(e.g. --last 7)"
        )


def check_calibrate(calibrate: int) -> None:
    if calibrate < 1:
        raise TriptychError(
            f"--calibrate {calibrate}: give the number of earlier runs the nightly gate needs "
            "before it decides, 1 or more (e.g. --calibrate 5)"
        )


def check_window(window: int) -> None:
    least = 2 * MIN_SEGMENT
    if window < least:
        raise TriptychError(
            f"--window {window}: give the number of nights the series test reads, {least} or "
            f"more (two segments of {MIN_SEGMENT}; e.g. --window {WINDOW})"
        )


def calibrating_note(history: int, needed: int) -> str:
    return (
        f"calibrating: {history} of {needed} earlier runs in this environment and scenario; "
        f"the gate decides once it has {needed} (this night is not a pass; a confirmed "
        "regression still fails)"
    )


def gate_notes(
    baseline: Runs,
    current: Runs,
    lacking: list[str],
    decided_by: Iterable[str] = (),
    history: int | None = None,
    noise_runs: int = 0,
) -> list[str]:
    """Partial runs, load warnings, what is missing, how much history there was (`history`:
    the most baseline runs any metric was compared against, else the baseline's runs), and
    (against one baseline run) how many metrics were decided on set-ups and how many on
    floors."""
    notes = [
        f"{name} run {r} is PARTIAL (it stopped before its end)"
        for name, runs in (("baseline", baseline), ("current", current))
        for r in sorted(runs.partial)
    ]
    notes += [*baseline.warnings, *current.warnings]
    if lacking:
        shown = ", ".join(lacking[:20]) + (" ..." if len(lacking) > 20 else "")
        notes.append(f"CURRENT lacks {len(lacking)} metric(s) BASELINE has: {shown}")
    history = baseline.samples.run.nunique() if history is None else history
    if history > 1:
        return [*notes, f"baseline history: {history} runs, each one unit"]
    by = Counter(decided_by)
    if by[SETUPS]:
        notes.append(
            f"one baseline run: {by[SETUPS]} metric(s) measured on 2 or more fresh set-ups in "
            "both runs were decided on their set-up means (the noise a rerun re-draws, measured "
            "by the runs themselves, and what a rerun adds beyond fresh set-ups: "
            "triptych.families)"
        )
    if by[NOISE]:
        notes.append(
            f"one baseline run: {by[NOISE]} metric(s) with one set-up on a side were decided "
            f"against the spread this machine's own earlier runs showed for them (--noise: "
            f"{noise_runs} run(s) of CURRENT's environment and scenario, each spread from at "
            f"least {MIN_RUNS})"
        )
    if by[FLOOR]:
        notes.append(
            f"one baseline run: {by[FLOOR]} metric(s) with one set-up on a side cannot show "
            "their run-to-run noise, so each family's conservative noise floor applies; more "
            "set-ups (`setups = 3`), --noise DIR with five or more earlier runs of this "
            "machine, or a BASELINE directory of several runs would sharpen the gate"
        )
    return notes
