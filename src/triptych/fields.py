"""Reading the fields of a file we did not write (a saved run, a journal line, a store row):
each one type-checked, numbers finite and in range, never coerced (`bool("false")` is True).

Every reader raises FieldError naming the field; the caller adds the file and the fix.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# No measured figure comes near this; larger ones overflow the report's ratios and logs.
MAX_VALUE = 1e18
_MISSING: Any = object()


class FieldError(ValueError):
    """A field of a stored document has the wrong type or an impossible value."""


def _get(d: Mapping[str, Any], key: str, default: Any) -> Any:  # noqa: ANN401
    if type(d) is not dict and not isinstance(d, Mapping):  # the exact type first: fast
        raise FieldError(f"expected an object holding {key!r}, got {type(d).__name__}")
    if key in d:
        return d[key]
    if default is _MISSING:
        raise FieldError(f"{key}: missing")
    return default


def text(d: Mapping[str, Any], key: str, default: Any = _MISSING) -> str:  # noqa: ANN401
    v = _get(d, key, default)
    if not isinstance(v, str):
        raise FieldError(f"{key}: expected a string, got {type(v).__name__}")
    return v


def optional_text(d: Mapping[str, Any], key: str) -> str | None:
    v = _get(d, key, None)
    return None if v is None else text(d, key)


def flag(d: Mapping[str, Any], key: str, default: Any = _MISSING) -> bool:  # noqa: ANN401
    v = _get(d, key, default)
    if not isinstance(v, bool):
        raise FieldError(f"{key}: expected true or false, got {type(v).__name__} {v!r:.20}")
    return v


def whole(
    d: Mapping[str, Any],
    key: str,
    default: Any = _MISSING,  # noqa: ANN401
    low: int = 0,
    high: int = 2**31,
) -> int:
    v = _get(d, key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise FieldError(f"{key}: expected an integer, got {type(v).__name__}")
    if not low <= v <= high:
        raise FieldError(f"{key}: out of range ({low} to {high})")
    return v


def finite(v: object, key: str) -> float:
    """v as a float, if it is a finite number within MAX_VALUE."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise FieldError(f"{key}: expected a number, got {type(v).__name__}")
    if isinstance(v, int) and abs(v) > MAX_VALUE:
        raise FieldError(f"{key}: out of range")
    x = float(v)
    if not math.isfinite(x) or abs(x) > MAX_VALUE:
        raise FieldError(f"{key}: {x} is not a finite figure within {MAX_VALUE:g}")
    return x


def real(d: Mapping[str, Any], key: str, default: Any = _MISSING) -> float:  # noqa: ANN401
    return finite(_get(d, key, default), key)


def table(d: Mapping[str, Any], key: str, default: Any = _MISSING) -> dict[str, Any]:  # noqa: ANN401
    v = _get(d, key, default)
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        raise FieldError(f"{key}: expected an object, got {type(v).__name__}")
    return dict(v)


def items(d: Mapping[str, Any], key: str, default: Any = _MISSING) -> list[Any]:  # noqa: ANN401
    v = _get(d, key, default)
    if not isinstance(v, list):
        raise FieldError(f"{key}: expected a list, got {type(v).__name__}")
    return v


def plain_table(found: dict[Any, Any]) -> bool:
    """Whether every key is text and every value plain, each of its exact type (text,
    true/false, a number within MAX_VALUE): the common case, in one pass (fast for 1000s; the
    JSON parser makes no subclasses)."""
    for k, v in found.items():
        kind = type(v)
        if type(k) is not str or not (
            kind is str
            or kind is bool
            or ((kind is int or kind is float) and -MAX_VALUE <= v <= MAX_VALUE)  # no NaN
        ):
            return False
    return True


def meta_table(d: Mapping[str, Any], key: str) -> dict[str, str | int | float | bool]:
    """An object of plain values (text, true/false, finite numbers), as metadata is."""
    found = d.get(key, {}) if type(d) is dict else _get(d, key, {})
    if type(found) is not dict:
        found = table(d, key, {})  # a mapping of another kind, or the error naming the field
    if plain_table(found):
        return dict(found)
    for k, v in found.items():  # of other types than JSON's own, or the error naming it
        if not isinstance(k, str):
            raise FieldError(f"{key}: expected an object, got a key {type(k).__name__}")
        if isinstance(v, str | bool):
            continue
        if not isinstance(v, int | float):
            raise FieldError(f"{key}.{k}: expected a plain value, got {type(v).__name__}")
        finite(v, f"{key}.{k}")
    return dict(found)


# A saved run of the nightly scenario is a few MiB; nothing we wrote comes near this.
MAX_FILE = 256 * 2**20


def read_file(path: Path, cap: int = MAX_FILE) -> bytes:
    """A file's bytes, if it is a regular file (not a link, a FIFO or a device) under `cap`;
    OSError (with the reason in strerror) otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file")
        if st.st_size > cap:
            raise OSError(0, f"larger than {cap // 2**20} MiB")
        # What fstat says, and one byte more to see it grew: never a buffer of `cap` bytes
        # (a quarter of a GiB allocated for every file read costs more than the read).
        data = f.read(st.st_size + 1)
        if len(data) > st.st_size:
            data += f.read(cap + 1 - len(data))
    if len(data) > cap:
        raise OSError(0, f"larger than {cap // 2**20} MiB")
    return data
