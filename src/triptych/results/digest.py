"""A saved run read, checked field by field and column-encoded (its digest), cached beside it
and made in parallel for many files. Light on purpose (no numpy, no pandas): the report starts
making digests before it imports its heavy modules (`start`), and its workers are forked small.
"""

from __future__ import annotations

import contextlib
import math
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
from triptych.host_cpu import PARTS
from triptych.private_path import UnsafePath
from triptych.record import CaseRecord, Round
from triptych.results.columns import COLUMNS, TYPED
from triptych.results.digest_cache import CACHE_VERSION, CODE, KINDS, TEXT, cached, keep
from triptych.results.sources import find_runs, session_in
from triptych.validate import NAME

SELECTED_CASES = "selected_cases"  # machine_info.triptych's key for --triptych-cases
MOST_SELECTED = 10_000
# What must match for two runs to be compared or trended together (pyperf's rule, ours).
ENV_KEYS = ("cpu_model", "cpu_count_logical", "kernel", "host_virtualization")


def env_key(machine: dict[str, Any]) -> str:
    """The environment a run was taken in, as one comparable string."""
    t = machine.get("triptych", {})
    t = t if isinstance(t, dict) else {}
    return " | ".join(f"{k}={_plain(t.get(k, '?'))}" for k in ENV_KEYS)


def _plain(v: object) -> str:
    return str(v) if isinstance(v, str | int | float | bool) else "?"


def machine_of(doc: dict[str, Any]) -> dict[str, Any]:
    """A run's machine_info, as an object whose `triptych` is an object (a damaged one: {})."""
    machine = doc.get("machine_info")
    if not isinstance(machine, dict):
        return {}
    if not isinstance(machine.get("triptych", {}), dict):
        return {**machine, "triptych": {}}
    return machine


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


def records_of(path: Path, doc: dict[str, Any]) -> list[CaseRecord]:
    """The run's case records (plain pytest-benchmark results in the same file are skipped)."""
    records = []
    benchmarks = doc.get("benchmarks", [])
    if not isinstance(benchmarks, list):
        raise TriptychError(f"{path}: 'benchmarks' is not a list; remove it or restore it")
    for bench in benchmarks:
        info = bench.get("extra_info") if isinstance(bench, dict) else None
        if isinstance(info, dict) and CaseRecord.is_record(info):
            records.append(
                CaseRecord.from_extra_info(info, f"{path}: benchmark {bench.get('name')}")
            )
    return records


def platforms_of(records: list[CaseRecord]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        out.setdefault(
            f"{r.platform}.{r.profile}" if r.profile else r.platform, dict(r.platform_metadata)
        )
    return out


def run_columns(path: Path, doc: dict[str, Any], records: list[CaseRecord]) -> dict[str, list[Any]]:
    """The run's samples, column by column (fast for hundreds of runs)."""
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    run = {
        "run": path.stem,
        "run_file": str(path),
        "run_date": doc.get("datetime", ""),
        "commit": commit_of(doc),
        "env": env_key(machine_of(doc)),
    }
    for r in records:
        n = len(r.samples)
        per_case = {
            **run,
            "scenario": r.scenario,
            "case": r.case,
            "workload": r.workload,
            "family": r.family,
            "platform": r.platform,
            "variant": r.variant,
            "profile": r.profile,
            "layer": _text(r.platform_metadata.get("layer")),
            "acceleration": _text(r.platform_metadata.get("acceleration")),
            "primary_metric": r.primary_metric or "",
            "primary": r.primary_variant,
            "emulated": r.emulated,
            "rank": r.platform_rank,
            "series": r.series,
            "sweep_axis": r.sweep_axis,
            "sweep_value": math.nan if r.sweep_value is None else r.sweep_value,
            "looks": r.looks,
        }
        for key, value in per_case.items():
            cols[key].extend([value] * n)
        for rnd in r.measured:
            k = len(rnd.samples)
            for key, value in _round_facts(rnd).items():
                cols[key].extend([value] * k)
            for smp in rnd.samples:
                cols["metric"].append(smp.metric)
                cols["unit"].append(smp.unit)
                cols["higher_is_better"].append(smp.higher_is_better)
                cols["value"].append(smp.value)
    return cols


def _round_facts(rnd: Round) -> dict[str, Any]:
    """A round's facts, as the columns every one of its samples repeats."""
    spent = rnd.host_cpu
    return {
        "round": rnd.number,
        "pass": rnd.pass_index,
        "setup": rnd.setup,
        "foreign_cpu": math.nan if rnd.foreign_cpu is None else rnd.foreign_cpu,
        "placement": rnd.client_placement,
        **{f"cpu_{p}": math.nan if spent is None else getattr(spent, p) for p in PARTS},
        "round_wall": math.nan if spent is None else spent.wall,
    }


def _text(v: object) -> str:
    return v if isinstance(v, str) else ""


def commit_of(doc: dict[str, Any]) -> str:
    """The run's commit id ("": none, or not text)."""
    info = doc.get("commit_info")
    commit = info.get("id") if isinstance(info, dict) else None
    return commit if isinstance(commit, str) else ""


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
    """One run, column-encoded (categories + codes) in typed arrays: cheap to cache, to send
    from a worker, to read and to merge."""
    records = records_of(path, doc)
    cols = run_columns(path, doc, records)
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
