"""A saved run read, checked field by field and column-encoded (its digest), cached beside it
and made in parallel for many files. Light on purpose (no numpy, no pandas): the report starts
making digests before it imports its heavy modules (`start`), and its workers are forked small.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from array import array
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from triptych import fields
from triptych.errors import TriptychError
from triptych.private_path import UnsafePath
from triptych.results.columns import TYPED
from triptych.results.digest_cache import CACHE_VERSION, CODE, COUNT, KINDS, TEXT, cached, keep
from triptych.results.run_columns import machine_of, platforms_of, run_columns
from triptych.results.sources import find_runs, session_in
from triptych.validate import NAME

SELECTED_CASES = "selected_cases"  # machine_info.triptych's key for --triptych-cases
MOST_SELECTED = 10_000


def selected_cases(machine: dict[str, Any]) -> tuple[str, ...]:
    """The cases a run was limited to (`--triptych-cases`, recorded in machine_info.triptych;
    () for a run of every case). Read as untrusted: anything but a list of case names counts
    as no selection, so such a run is judged as complete (a case it lacks is missing)."""
    t = machine.get("triptych", {})
    chosen = t.get(SELECTED_CASES, []) if isinstance(t, dict) else []
    if not isinstance(chosen, list) or len(chosen) > MOST_SELECTED:
        return ()
    if not all(isinstance(c, str) and NAME.fullmatch(c) for c in chosen):
        return ()
    return tuple(chosen)


def read_run(path: Path) -> dict[str, Any]:
    try:
        doc = orjson.loads(fields.read_file(path))
    except OSError as e:
        raise TriptychError(
            f"{path}: not a readable pytest-benchmark run ({e.strerror}); remove it or pass "
            "other runs"
        ) from None
    except orjson.JSONDecodeError as e:
        raise TriptychError(
            f"{path}: not a readable pytest-benchmark run ({e}); remove it or pass other runs"
        ) from None
    if not isinstance(doc, dict) or "benchmarks" not in doc:
        raise TriptychError(
            f"{path}: not a pytest-benchmark run (no 'benchmarks'); "
            "pass files saved with --benchmark-save"
        )
    if not isinstance(doc.get("datetime", ""), str):
        raise TriptychError(f"{path}: its 'datetime' is not text; remove it or restore it")
    return doc


PARALLEL_FROM = 16  # files; below this a process pool costs more than it saves


def digest_of(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """One run, column-encoded (categories + codes) in typed arrays, each column once a value
    at its level (a case's platform once, not once per sample) with the counts that repeat it
    (`counts`: the rounds of each case, the samples of each round): cheap to cache, to send
    from a worker, to read and to merge (the loader repeats the values, results/load.py)."""
    records, levels = run_columns(path, doc)
    cols = levels.values
    encoded: dict[str, Any] = {}
    for c in TEXT:
        # Two dicts, not pd.factorize: for a few hundred values, many times faster.
        seen = {x: i for i, x in enumerate(dict.fromkeys(cols[c]))}
        codes = array(CODE, list(map(seen.__getitem__, cols[c])))
        encoded[c] = {"categories": [str(x) for x in seen], "codes": codes}
    return {
        "version": CACHE_VERSION,
        "session": session_in(doc),
        "machine_info": machine_of(doc),
        "platforms": platforms_of(records),
        "counts": {"rounds": array(COUNT, levels.rounds), "samples": array(COUNT, levels.samples)},
        "text": encoded,
        **{c: array(KINDS[c], cols[c]) for c in TYPED},
    }


def _digest_file(path: Path) -> dict[str, Any]:
    """The digest of a saved run, from the cache when the file has not changed since."""
    found = cached(path)
    if found is not None:
        return found
    digest = digest_of(path, read_run(path))
    with contextlib.suppress(OSError, UnsafePath):  # read-only or not ours: no cache, same report
        keep(path, digest)
    return digest


def _try_digest(path: Path) -> dict[str, Any] | str:
    """The digest, or the one-line reason the run cannot be read."""
    try:
        return _digest_file(path)
    except TriptychError as e:
        return str(e)


class Pending:
    """The digests of the saved runs under `paths`, being made: cached ones read at once, the
    others made in a pool of processes forked now (small, when started before the caller's heavy
    imports) while the caller goes on; `result()` waits for them."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.files = find_runs(paths)
        self.saved = [p for p in self.files if p.suffix == ".json"]
        self._out: list[dict[str, Any] | str | None] = []
        for f in self.saved:
            try:
                self._out.append(cached(f))
            except OSError:  # its stat failed: the digest says why, below
                self._out.append(None)
        todo = [f for f, d in zip(self.saved, self._out, strict=True) if d is None]
        self._pool: ProcessPoolExecutor | None = None
        self._made: Iterator[dict[str, Any] | str]
        if len(todo) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
            self._made = iter([_try_digest(f) for f in todo])
        else:
            self._pool = ProcessPoolExecutor(
                max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("fork")
            )
            self._made = self._pool.map(_try_digest, todo, chunksize=8)  # submitted now

    def result(self) -> list[dict[str, Any] | str]:
        """Every saved file's digest (or the one line saying why it cannot be read), in order."""
        try:
            return [d if d is not None else next(self._made) for d in self._out]
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)


def start(paths: list[Path]) -> Pending:
    """Begin reading the runs under `paths` (see Pending)."""
    return Pending(paths)
