"""A run's digest kept beside it (`.triptych-cache/`): where it lives, who may have written it,
and its file format, a small JSON header and then the digest's columns as raw arrays (read back
with no per-value parsing: a year of nightly runs is 100,000s of values).

A cache file is believed only if it is ours (its owner is this user), its header names this
version of the code and this machine's byte order, and every array is the length and kind the
header says; anything else is no cache at all, and the run is digested afresh.
"""

from __future__ import annotations

import os
import sys
from array import array
from pathlib import Path
from typing import Any

import orjson

from triptych import fields
from triptych.private_path import private_dir, replace_atomically
from triptych.record import RECORD_VERSION
from triptych.results.columns import COLUMNS, LEVEL, TYPED, level_lengths, table_digest

CACHE_DIR = ".triptych-cache"
# The cache is read back only by the code that wrote it: its version is the record's, the
# column table's and this file format's.
FORMAT = "arrays-2"
CACHE_VERSION = f"{RECORD_VERSION}-{table_digest()}-{FORMAT}"
MAGIC = b"triptych digest\n"
TEXT = [c for c in COLUMNS if c not in TYPED]
CODE = "i"  # a text column's codes: int32
COUNT = "q"  # the rounds of each case, the samples of each round: int64
COUNTS = ("rounds", "samples")
# Each typed column's array kind, by its DataFrame dtype (same size as numpy's).
KIND = {"float64": "d", "int64": "q", "bool": "b"}
KINDS = {c: KIND[dtype] for c, dtype in TYPED.items()}
META = ("session", "machine_info", "platforms")


def cache_path(path: Path) -> Path:
    """Where the digest of this version of the file (its size and time) is cached."""
    st = path.stat()
    return path.parent / CACHE_DIR / f"{path.name}.{st.st_size}.{st.st_mtime_ns}.v{CACHE_VERSION}"


def cached(path: Path) -> dict[str, Any] | None:
    """The digest cached for this version of the file, if there is one of ours."""
    where = cache_path(path)
    try:
        # Only a cache file of ours: one planted by another user is never believed.
        if where.lstat().st_uid == os.geteuid():
            return decode(fields.read_file(where))
    except OSError:
        pass
    return None


def keep(path: Path, digest: dict[str, Any]) -> None:
    """Cache the digest, only into a cache directory of ours that no one else can write, and
    never through a link: a directory of runs may come from anywhere (an artifact, a share)."""
    where = cache_path(path)
    private_dir(where.parent, "the report's cache", 0o755)
    replace_atomically(where.parent, where, encode(digest), ".tmp-")


def encode(digest: dict[str, Any]) -> bytes:
    """The digest as a cache file's bytes."""
    columns = [(f"counts.{c}", digest["counts"][c]) for c in COUNTS]
    columns += [(f"text.{c}", digest["text"][c]["codes"]) for c in TEXT]
    columns += [(c, digest[c]) for c in TYPED]
    header = {
        "version": CACHE_VERSION,
        "byteorder": sys.byteorder,
        **{k: digest[k] for k in META},
        "categories": {c: digest["text"][c]["categories"] for c in TEXT},
        "arrays": [[name, a.typecode, len(a)] for name, a in columns],
    }
    head = orjson.dumps(header)
    raw = [a.tobytes() for _, a in columns]
    return b"".join([MAGIC, len(head).to_bytes(8, "little"), head, *raw])


def decode(data: bytes) -> dict[str, Any] | None:
    """A digest from a cache file's bytes; None unless it is whole and of this code's making."""
    start = len(MAGIC) + 8
    if not data.startswith(MAGIC):
        return None
    end = start + int.from_bytes(data[len(MAGIC) : start], "little")
    try:
        header = orjson.loads(data[start:end])
    except orjson.JSONDecodeError:
        return None
    arrays = _arrays(header, data, end) if _expected(header) else None
    if arrays is None or not _levels_hold(arrays):
        return None
    out: dict[str, Any] = {k: header[k] for k in META}
    out["version"] = header["version"]
    out["counts"] = {c: arrays[f"counts.{c}"] for c in COUNTS}
    out["text"] = {}
    for c in TEXT:
        codes, categories = arrays[f"text.{c}"], header["categories"][c]
        if codes and not 0 <= min(codes) <= max(codes) < len(categories):
            return None
        out["text"][c] = {"categories": categories, "codes": codes}
    out.update({c: arrays[c] for c in TYPED})
    return out


def _levels_hold(arrays: dict[str, array[Any]]) -> bool:
    """Whether each column is as long as its level is (the counts say how long that is)."""
    lengths = level_lengths(arrays["counts.rounds"], arrays["counts.samples"])
    if lengths is None:
        return False
    return all(len(arrays[f"text.{c}" if c in TEXT else c]) == lengths[LEVEL[c]] for c in COLUMNS)


def _arrays(header: dict[str, Any], data: bytes, at: int) -> dict[str, array[Any]] | None:
    """The arrays the header lists, from `at` to the file's end (None: it is not that long)."""
    arrays: dict[str, array[Any]] = {}
    for name, kind, count in header["arrays"]:
        a = array(kind)
        chunk = data[at : at + count * a.itemsize]
        if len(chunk) != count * a.itemsize:
            return None
        a.frombytes(chunk)
        arrays[name] = a
        at += len(chunk)
    return arrays if at == len(data) else None


def _expected(header: object) -> bool:
    """Whether a cache header is this code's: its version, byte order, and arrays of one length,
    of the kinds and in the order this code writes them."""
    if not isinstance(header, dict) or header.get("version") != CACHE_VERSION:
        return False
    if header.get("byteorder") != sys.byteorder or not all(k in header for k in META):
        return False
    arrays, categories = header.get("arrays"), header.get("categories")
    if not isinstance(arrays, list) or not all(
        isinstance(a, list) and len(a) == 3 and type(a[2]) is int and a[2] >= 0 for a in arrays
    ):
        return False
    want = [[f"counts.{c}", COUNT] for c in COUNTS]
    want += [[f"text.{c}", CODE] for c in TEXT] + [[c, KINDS[c]] for c in TYPED]
    if [a[:2] for a in arrays] != want:
        return False
    return isinstance(categories, dict) and all(isinstance(categories.get(c), list) for c in TEXT)
