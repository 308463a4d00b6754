"""Regressions of record: a regression the nightly gate found stays open, night after night,
until a person accepts it (`triptych accept`, with a reason, recorded with who and when) or it
reverts; the nights it is open are kept out of its metric's baseline, so a regression never
becomes the normal it is judged against. One regressed night makes it suspected; a second
(or a step over the series, which lasted three nights) confirms it.

The record is a JSON file beside the machine's runs (`regressions.record` in the results
directory; scripts/nightly.sh passes it with a store as well). It is read as untrusted input,
field by field, and written by root only into a directory that is provably root's own.

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
                    "confirmed": str}]}   # the night a second regressed night (or a step
                                          # over the series) confirmed it; "": suspected
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from triptych.errors import TriptychError
from triptych.private_path import check_dir

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


def _bad(path: Path, where: str, problem: str) -> TriptychError:
    return TriptychError(
        f"{path}: {where} {problem}; it is not a regressions record triptych wrote: restore it "
        f"from a backup or remove it (every open regression is then forgotten)"
    )


def _text(path: Path, where: str, value: object) -> str:
    if not isinstance(value, str):
        raise _bad(path, where, f"is {type(value).__name__}, not text")
    if len(value) > TEXT_LIMIT or any(ord(c) < 32 or c == "\x7f" for c in value):
        raise _bad(path, where, "is too long or holds control characters")
    return value


def _regression(path: Path, i: int, raw: object) -> Regression:
    where = f"regressions[{i}]"
    if not isinstance(raw, dict):
        raise _bad(path, where, "is not an object")
    unknown = sorted(set(raw) - set(Regression.__dataclass_fields__))
    if unknown:
        raise _bad(path, f"{where}.{unknown[0]}", "is not a field of the record")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise _bad(path, f"{where}.{missing[0]}", "is missing")
    texts = {k: _text(path, f"{where}.{k}", raw[k]) for k in TEXT_FIELDS if k in raw}
    if texts["state"] not in STATES:
        raise _bad(path, f"{where}.state", f"is {texts['state']!r}, not one of {', '.join(STATES)}")
    cost = raw.get("cost", math.nan)
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost):
        raise _bad(path, f"{where}.cost", "is not a finite number")
    nights = raw.get("nights", [])
    if not isinstance(nights, list) or len(nights) > MOST:
        raise _bad(path, f"{where}.nights", "is not a list of run names")
    names = tuple(_text(path, f"{where}.nights[{j}]", n) for j, n in enumerate(nights))
    return Regression(**texts, cost=float(cost), nights=names)


def load(path: Path) -> Record:
    """The record at path (empty if there is none yet), validated field by field."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Record(path)
    except OSError as e:
        raise TriptychError(f"{path}: cannot read the regressions record ({e.strerror})") from None
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _bad(path, "the file", "is not JSON") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise _bad(path, "schema", f"is not {SCHEMA!r}")
    raw = doc.get("regressions")
    if not isinstance(raw, list) or len(raw) > MOST:
        raise _bad(path, "regressions", "is not a list")
    return Record(path, [_regression(path, i, r) for i, r in enumerate(raw)])


def save(record: Record) -> None:
    """Write the record atomically, only into a directory that is provably ours, never through
    a link (a temporary file of our own, renamed over the old one)."""
    folder = check_dir(record.path.parent, "the directory of the regressions record")
    doc = {"schema": SCHEMA, "regressions": [asdict(r) for r in record.regressions]}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-regressions-")  # O_EXCL: never a link
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, record.path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def accept(
    record: Record, key: Key, env: str | None, by: str, when: str, reason: str
) -> Regression:
    """Close the open regression of `key` as accepted (its nights become the baseline)."""
    if not reason.strip():
        raise TriptychError("accept: give --reason: why this regression is the new normal")
    found = [
        i
        for i, r in enumerate(record.regressions)
        if r.key == key and r.state == OPEN and (env is None or r.env == env)
    ]
    shown = " / ".join(key)
    if not found:
        raise TriptychError(
            f"{record.path}: no open regression of {shown}; `triptych accept --list` shows "
            "the open ones"
        )
    if len(found) > 1:
        raise TriptychError(
            f"{record.path}: {shown} is open in {len(found)} environments; pass --env to say "
            "which (`triptych accept --list` shows them)"
        )
    done = replace(
        record.regressions[found[0]], state=ACCEPTED, accepted_by=by, accepted_at=when,
        reason=" ".join(reason.split()),
    )  # fmt: skip
    record.regressions[found[0]] = done
    return done
