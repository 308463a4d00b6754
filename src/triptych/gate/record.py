"""Regressions of record: a regression the nightly gate found stays open, night after night,
until a person accepts it (`triptych accept`, with a reason, recorded with who and when) or it
reverts; the nights it is open are kept out of its metric's baseline, so a regression never
becomes the normal it is judged against. One regressed night makes it suspected; a second
(or a step over the series, which lasted three nights) confirms it.

The record is kept by a Keeper: a JSON file beside the machine's runs (`regressions.record` in
the results directory; FileKeeper), or with a store the store's `regressions` table, one row per
regression of each machine (store/regressions.py), so a runner reimaged forgets nothing and the
fleet's report lists every machine's. Either is read as untrusted input, field by field; the
file is written by root only into a directory that is provably root's own.

Schema `triptych-regressions/1`:
  {"schema": "triptych-regressions/1",
   "regressions": [{"case", "metric", "platform",   # the gate's key: the report's column label
                    "env", "scenario",              # the history it was found in
                    "first_run", "first_date",      # the first regressed night
                    "last_good",                    # the night before it in the baseline
                    "cost": float,                  # its first night's cost (> 1: worse)
                    "nights": [runs],               # the nights it was open (out of the baseline)
                    "state": "open" | "accepted" | "reverted",
                    "closed_run": str,              # the night it reverted ("" otherwise)
                    "accepted_by", "accepted_at", "reason": str,   # "" unless accepted
                    "confirmed": str,     # the night a second regressed night (or a step
                                          # over the series) confirmed it; "": suspected
                    "machine": str}]}     # the runner it was found on ("": the directory's own;
                                          # a store's rows always name it)
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from triptych.errors import TriptychError
from triptych.private_path import check_dir, replace_atomically
from triptych.validate import has_control

SCHEMA = "triptych-regressions/1"
FILE = "regressions.record"  # JSON, under a name the report never reads as a run
OPEN, ACCEPTED, REVERTED = "open", "accepted", "reverted"
STATES = (OPEN, ACCEPTED, REVERTED)
TEXT_LIMIT = 1000  # no field of ours is longer; a longer one is not ours
MOST = 10_000  # regressions of record a file may hold

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Regression:
    case: str
    metric: str
    platform: str
    env: str
    scenario: str
    first_run: str
    first_date: str
    last_good: str
    cost: float
    nights: tuple[str, ...] = ()
    state: str = OPEN
    closed_run: str = ""
    accepted_by: str = ""
    accepted_at: str = ""
    reason: str = ""
    confirmed: str = ""  # the night that confirmed it ("": one night so far, suspected)
    machine: str = ""  # the runner it was found on ("": the record's own, a file's)

    @property
    def key(self) -> Key:
        return (self.case, self.metric, self.platform)

    def of(self, env: str, scenario: str) -> bool:
        """Whether it belongs to this history (environment and scenario)."""
        return (self.env, self.scenario) == (env, scenario)


TEXT_FIELDS = [f for f in Regression.__dataclass_fields__ if f not in ("cost", "nights")]
REQUIRED = ("case", "metric", "platform", "env", "scenario", "first_run", "first_date", "state")


@dataclass
class Record:
    """The file's regressions, and where it lives (None: no file yet)."""

    path: Path
    regressions: list[Regression] = field(default_factory=list)


class Keeper(Protocol):
    """Where the nightly gate keeps its regressions of record."""

    @property
    def place(self) -> str:
        """How messages name it (a file's path; a store and the machine)."""
        ...

    def load(self) -> list[Regression]:
        """Its regressions, validated field by field (none if it holds none yet)."""
        ...

    def save(self, regressions: list[Regression]) -> None:
        """Replace what it holds with these, all or nothing."""
        ...


@dataclass(frozen=True)
class FileKeeper:
    """The record as a JSON file (this module's schema)."""

    path: Path

    @property
    def place(self) -> str:
        return str(self.path)

    def load(self) -> list[Regression]:
        return load(self.path).regressions

    def save(self, regressions: list[Regression]) -> None:
        save(Record(self.path, regressions))


FILE_FIX = (
    "it is not a regressions record triptych wrote: restore it from a backup or remove it "
    "(every open regression is then forgotten)"
)


def _bad(place: str, where: str, problem: str, fix: str = FILE_FIX) -> TriptychError:
    return TriptychError(f"{place}: {where} {problem}; {fix}")


def _text(place: str, where: str, value: object, fix: str) -> str:
    if not isinstance(value, str):
        raise _bad(place, where, f"is {type(value).__name__}, not text", fix)
    if len(value) > TEXT_LIMIT or has_control(value):
        raise _bad(place, where, "is too long or holds control characters", fix)
    return value


def regression_of(raw: object, place: str, where: str, fix: str = FILE_FIX) -> Regression:
    """One regression from what a record holds (a file's object, a store's row as a dict),
    checked field by field; a bad one is a one-line TriptychError naming place and field."""
    if not isinstance(raw, dict):
        raise _bad(place, where, "is not an object", fix)
    unknown = sorted(set(raw) - set(Regression.__dataclass_fields__))
    if unknown:
        raise _bad(place, f"{where}.{unknown[0]}", "is not a field of the record", fix)
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise _bad(place, f"{where}.{missing[0]}", "is missing", fix)
    texts = {k: _text(place, f"{where}.{k}", raw[k], fix) for k in TEXT_FIELDS if k in raw}
    if texts["state"] not in STATES:
        states = ", ".join(STATES)
        raise _bad(place, f"{where}.state", f"is {texts['state']!r}, not one of {states}", fix)
    cost = raw.get("cost", math.nan)
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost):
        raise _bad(place, f"{where}.cost", "is not a finite number", fix)
    nights = raw.get("nights", [])
    if not isinstance(nights, list) or len(nights) > MOST:
        raise _bad(place, f"{where}.nights", "is not a list of run names", fix)
    names = tuple(_text(place, f"{where}.nights[{j}]", n, fix) for j, n in enumerate(nights))
    return Regression(**texts, cost=float(cost), nights=names)


def load(path: Path) -> Record:
    """The record at path (empty if there is none yet), validated field by field."""
    place = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Record(path)
    except OSError as e:
        raise TriptychError(f"{path}: cannot read the regressions record ({e.strerror})") from None
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _bad(place, "the file", "is not JSON") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise _bad(place, "schema", f"is not {SCHEMA!r}")
    raw = doc.get("regressions")
    if not isinstance(raw, list) or len(raw) > MOST:
        raise _bad(place, "regressions", "is not a list")
    return Record(path, [regression_of(r, place, f"regressions[{i}]") for i, r in enumerate(raw)])


def save(record: Record) -> None:
    """Write the record atomically, only into a directory that is provably ours, never through
    a link (a temporary file of our own, renamed over the old one)."""
    folder = check_dir(record.path.parent, "the directory of the regressions record")
    doc = {"schema": SCHEMA, "regressions": [asdict(r) for r in record.regressions]}
    data = (json.dumps(doc, indent=1) + "\n").encode()
    replace_atomically(folder, record.path, data, ".tmp-regressions-")


def accept(
    regressions: list[Regression], place: str, key: Key, env: str | None, by: str, when: str,
    reason: str,
) -> Regression:  # fmt: skip
    """Close the open regression of `key` as accepted (its nights become the baseline), in
    the list; `place` names the record in messages."""
    if not reason.strip():
        raise TriptychError("accept: give --reason: why this regression is the new normal")
    found = [
        i
        for i, r in enumerate(regressions)
        if r.key == key and r.state == OPEN and (env is None or r.env == env)
    ]
    shown = " / ".join(key)
    if not found:
        raise TriptychError(
            f"{place}: no open regression of {shown}; `triptych accept --list` shows the open ones"
        )
    if len(found) > 1:
        raise TriptychError(
            f"{place}: {shown} is open in {len(found)} environments; pass --env to say "
            "which (`triptych accept --list` shows them)"
        )
    done = replace(
        regressions[found[0]], state=ACCEPTED, accepted_by=by, accepted_at=when,
        reason=" ".join(reason.split()),
    )  # fmt: skip
    regressions[found[0]] = done
    return done
