"""The nightly gate's memory: what the regressions of record (gate/record.py) change about a
night. Each metric's baseline leaves out the nights of its open regressions (and, once one is
accepted, the nights before it); tonight's findings open regressions, extend them or close them
as reverted; the open ones are listed with what changed between their last good and first
bad night (results.differences)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from triptych.gate.compare import Change, Sides
from triptych.gate.metric_series import Key, Series
from triptych.gate.record import ACCEPTED, OPEN, REVERTED, Regression
from triptych.results.differences import what_changed
from triptych.results.load import Runs, chronological

# The most nights, beyond --last and --window, read to make up for nights kept out.
MOST_HELD = 60


@dataclass(frozen=True)
class History:
    """The newest run's history: its environment and scenario, and when each run was taken."""

    env: str
    scenario: str
    order: list[str]  # baseline runs, oldest first

    @classmethod
    def of(cls, baseline: Runs, current: Runs) -> History:
        firsts = current.samples.drop_duplicates("run")
        scenario = ",".join(sorted({str(s) for s in current.samples.scenario}))
        order = chronological(baseline.samples.drop_duplicates("run")).run
        return cls(str(firsts.env.iloc[0]), scenario, [str(r) for r in order])


def reach(last: int, window: int, regressions: list[Regression]) -> int:
    """The runs before tonight the nightly gate reads: its series' `window` nights (tonight
    among them) or its baseline's `last`, and enough more that every metric keeps them once the
    nights its regressions of record hold out are left out (up to MOST_HELD)."""
    held = [r for r in regressions if r.state != ACCEPTED]
    return max(last, window - 1) + min(sum(len(r.nights) for r in held), MOST_HELD)


def mine(regressions: list[Regression], history: History) -> list[Regression]:
    return [r for r in regressions if r.of(history.env, history.scenario)]


def excluded(regressions: list[Regression], history: History) -> dict[Key, set[str]]:
    """Per metric, the baseline runs left out: the nights of an open or reverted regression
    (never accepted as normal), and every night before an accepted one's first (the accepted
    level is the normal from then on)."""
    out: dict[Key, set[str]] = {}
    position = {run: i for i, run in enumerate(history.order)}
    for r in mine(regressions, history):
        if r.state in (OPEN, REVERTED):  # regressed nights never accepted as normal
            out.setdefault(r.key, set()).update(r.nights)
        elif r.state == ACCEPTED:
            first = position.get(r.first_run)
            before = history.order[:first] if first is not None else []
            if first is None and r.last_good in position:
                before = history.order[: position[r.last_good] + 1]
            out.setdefault(r.key, set()).update(before)
    return out


def baseline_without(
    sides: Sides, regressions: list[Regression], history: History, last: int
) -> tuple[Sides, list[str]]:
    """Each metric's baseline: the newest `last` runs outside its left-out nights; a metric with
    none left is not compared tonight (named in a note)."""
    out = excluded(regressions, history)
    base: dict[Key, Series] = {}
    empty = []
    held = 0
    for key, s in sides.base.items():
        gone = out.get(key, set())
        held += bool(gone & set(s.runs))
        keep = [r for r in history.order if r in s.runs and r not in gone][-last:]
        if not keep:
            empty.append(" / ".join(key))
            continue
        base[key] = replace(
            s,
            runs={r: s.runs[r] for r in keep},
            setups={r: s.setups[r] for r in keep if r in s.setups},
        )
    notes = []
    if held:
        notes.append(
            f"{held} metric(s) have nights left out of their baseline by a regression of record "
            "(its regressed nights, open or reverted, or the nights before an accepted one)"
        )
    if empty:
        notes.append(
            f"{len(empty)} metric(s) have no baseline night outside an open regression and are "
            f"not compared tonight: {', '.join(empty[:10])}"
        )
    return replace(sides, base=base), notes


def tonight(
    regressions: list[Regression],
    found: list[Change],
    history: History,
    newest: str,
    newest_date: str,
) -> tuple[list[Regression], list[Regression], list[Regression]]:
    """The record after tonight, with the regressions opened and the ones reverted tonight.
    A regression found tonight opens suspected; the next night that regresses again confirms
    it. An open regression stays open on a night that regresses again or that is not clearly
    back (its cost above 1 + its margin); it reverts on a night that is not a regression and is
    within its margin of the good baseline."""
    by_key = {(c.case, c.metric, c.platform): c for c in found}
    out: list[Regression] = []
    opened: list[Regression] = []
    reverted: list[Regression] = []
    still = set()
    for r in regressions:
        c = by_key.get(r.key)
        if r.state != OPEN or not r.of(history.env, history.scenario) or c is None:
            out.append(r)
            continue
        if newest in r.nights or newest == r.first_run:
            out.append(r)  # tonight already recorded (the gate run twice)
        elif not c.regression and c.effect.cost <= 1 + c.margin:
            done = replace(r, state=REVERTED, closed_run=newest)
            out.append(done)
            reverted.append(done)
        else:
            confirmed = r.confirmed or (newest if c.regression else "")
            out.append(replace(r, nights=(*r.nights, newest), confirmed=confirmed))
        still.add(r.key)
    gone = excluded(regressions, history)
    for c in found:
        key = (c.case, c.metric, c.platform)
        if c.regression and key not in still:
            good = [r for r in history.order if r not in gone.get(key, set())]
            new = Regression(
                *key, history.env, history.scenario, newest, newest_date,
                good[-1] if good else "", c.effect.cost, (newest,),
            )  # fmt: skip
            out.append(new)
            opened.append(new)
    return out, opened, reverted


def open_now(record: list[Regression], history: History) -> list[Regression]:
    return [r for r in mine(record, history) if r.state == OPEN]


def open_lines(record: list[Regression], runs: Runs, history: History) -> list[str]:
    """One line per open regression of this history: suspected or confirmed, first night,
    nights open, what changed."""
    lines = []
    for r in open_now(record, history):
        changed = what_changed(runs, r.last_good, r.first_run)
        status = (
            f"confirmed on {r.confirmed}"
            if r.confirmed
            else "SUSPECTED (one night: a rerun tonight or the next night confirms or clears it)"
        )
        lines.append(
            f"{r.case} / {r.metric} / {r.platform}: {status}; open since {r.first_run} "
            f"({r.first_date[:10] or 'undated'}; {len(r.nights)} night(s), first {r.cost:.2f}x "
            f"worse); changed since {r.last_good or 'no good night'}: "
            + ("; ".join(changed) if changed else "nothing recorded")
        )
    return lines
