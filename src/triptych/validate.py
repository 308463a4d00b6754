"""One routine checks every table of settings a user writes against the dataclass it fills.

A field declares its rules in its metadata (`setting(...)`): the choices, range, pattern or file
it accepts and how to fix a wrong value. Workload parameters, the [docker] and [vm] tables all
go through `build()`, so each mistake reads the same: `FILE: KEY: PROBLEM; FIX`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from triptych.errors import ScenarioError

SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
# Scenario and case names become test ids, file names and report text: letters, digits, . _ -
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# What breaks a line of a log, a terminal or a Markdown row: C0 controls, DEL and Unicode's
# line and paragraph separators.
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """A rule broken by values that are each valid alone (e.g. a pin list for other vCPUs)."""

    key: str
    problem: str
    fix: str


class Where:
    """Builds the one-line error: file: key: problem; fix."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, key: str, problem: str, fix: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {key}: {problem}; {fix}")


def setting(
    default: Any,  # noqa: ANN401 - a field default of any setting type
    *,
    low: float | None = None,
    high: float | None = None,
    unit: str = "",
    choices: Sequence[str] | None = None,
    pattern: re.Pattern[str] | None = None,
    what: str = "",
    fix: str = "",
    hint: str = "",
    existing_file: bool = False,
) -> Any:  # noqa: ANN401
    """A dataclass field whose rules `build()` enforces.

    `pattern` values that do not match are "not {what}", fixed by `fix`; `hint` is an example
    of a good value; `existing_file` demands a path to a file that exists.
    """
    return dataclasses.field(
        default=default,
        metadata={
            "low": low,
            "high": high,
            "unit": unit,
            "choices": tuple(choices) if choices else None,
            "pattern": pattern,
            "what": what,
            "fix": fix,
            "hint": hint,
            "existing_file": existing_file,
        },
    )


def has_control(text: str) -> bool:
    """Whether text we did not write holds a character that breaks a line (CONTROL)."""
    return CONTROL.search(text) is not None


BYTE_UNITS = {"b": 1, "k": 2**10, "m": 2**20, "g": 2**30}


def size_bytes(text: str) -> int:
    """A size as SIZE (fio, stress-ng: "256M") or a memory setting (Docker: "512m", "64b")
    writes it, in bytes: the units are powers of 1024."""
    unit = text[-1].lower() if text[-1].isalpha() else "b"
    return int(text.rstrip("bkmgBKMG")) * BYTE_UNITS[unit]


def size_setting(default: str, hint: str) -> Any:  # noqa: ANN401
    """A byte size the way fio and stress-ng write it: 256M, 4k, 1G."""
    return setting(
        default, pattern=SIZE, what="a size", fix=f"write a size like 4k, 64M or 1G (e.g. {hint})"
    )


def suggest(word: str, choices: Iterable[str]) -> str:
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1)
    return f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(sorted(options))}"


TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def check_type(where: Where, key: str, value: object, t: type) -> Any:  # noqa: ANN401
    """The value if it is of type t (an int is accepted as a float, a bool never as a number)."""
    if t is bool:
        ok = isinstance(value, bool)
    elif t in (int, float):
        ok = isinstance(value, int if t is int else int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, t)
    if not ok:
        name = TYPE_NAMES[t]
        shown = _short(value)
        raise where.error(
            key,
            f"expected {name}, got {type(value).__name__} {shown}",
            f"write {key.rsplit('.', 1)[-1]} as {name}",
        )
    if t in (int, float):
        _finite(where, key, value)  # type: ignore[arg-type]
    return float(value) if t is float else value  # type: ignore[arg-type]


def _short(value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very large integer"
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


# No setting needs more: larger integers would lose their value as floats (or overflow them).
MAX_MAGNITUDE = 2**53


def _finite(where: Where, key: str, value: float) -> None:
    """A number every later step can use: finite, and an integer a float holds exactly."""
    if isinstance(value, int):
        if abs(value) > MAX_MAGNITUDE:
            # Never str() it: a 5000-digit integer is past Python's own conversion limit.
            raise where.error(key, "the integer is too large", f"use a value below {MAX_MAGNITUDE}")
    elif not math.isfinite(value):
        raise where.error(key, f"{value} is not a finite number", "give a finite number")


def check_keys(where: Where, prefix: str, table: Mapping[str, Any], known: Iterable[str]) -> None:
    names = list(known)
    for key in table:
        if key not in names:
            raise where.error(f"{prefix}{key}", "unknown key", suggest(key, names))


def _bound(v: float) -> str:
    """A range's end as written in a fix: 1048576, not 1.04858e+06."""
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def in_range(
    where: Where, key: str, value: float, low: float, high: float, unit: str, hint: str = ""
) -> None:
    if not low <= value <= high:
        example = f" (e.g. {hint})" if hint else ""
        raise where.error(
            key,
            f"{value:g}{unit} is out of range",
            f"use a value from {_bound(low)} to {_bound(high)}{unit}{example}",
        )


def _field_type(f: dataclasses.Field[Any]) -> type:
    name = str(f.type).replace(" | None", "")
    return {"int": int, "float": float, "str": str, "bool": bool}[name]


def _check_value(where: Where, key: str, owner: str, f: dataclasses.Field[Any], v: Any) -> None:  # noqa: ANN401
    meta = f.metadata
    if meta.get("choices") and v not in meta["choices"]:
        raise where.error(key, f"{v!r} is not accepted by {owner}", suggest(v, meta["choices"]))
    if meta.get("pattern") is not None and not meta["pattern"].fullmatch(v):
        raise where.error(key, f"{v!r} is not {meta['what']}", meta["fix"])
    if meta.get("low") is not None and meta.get("high") is not None:
        in_range(where, key, v, meta["low"], meta["high"], meta["unit"], meta["hint"])
    if meta.get("existing_file") and not Path(v).is_file():
        raise where.error(key, f"{v} does not exist", "give the path of an existing file")


def build(
    where: Where, key: str, cls: type[T], given: Mapping[str, Any], owner: str = "", noun: str = ""
) -> T:
    """An instance of the settings dataclass `cls` from a user's table, or a one-line error.

    Unknown keys, types, each field's own rules, then the rules across fields (`problems()`).
    `owner` names who refuses a value ("fio"); `noun` what an unknown key is ("parameter").
    """
    owner = owner or key
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name not in fields:
            problem = f"{owner} has no {noun} {name!r}" if noun else "unknown key"
            raise where.error(f"{key}.{name}", problem, suggest(name, fields))
        f = fields[name]
        v = check_type(where, f"{key}.{name}", value, _field_type(f))
        _check_value(where, f"{key}.{name}", owner, f, v)
        values[name] = v
    built = cls(**values)
    problems: Iterator[Problem] | None = getattr(built, "problems", lambda: None)()
    for p in problems or ():
        raise where.error(f"{key}.{p.key}", p.problem, p.fix)
    return built
