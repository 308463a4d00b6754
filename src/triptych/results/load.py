"""Reads saved pytest-benchmark JSON files into one DataFrame of samples (never runs anything)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triptych.errors import TriptychError
from triptych.results.columns import COLUMNS, LEVEL, TYPED
from triptych.results.digest import Pending, digest_of, selected_cases, start
from triptych.results.digest_cache import TEXT
from triptych.results.sources import session_in, sources

# How far into the future a run's date may be and still be believed (a clock a little off):
# beyond it the gate and the store leave the run out rather than take it as the newest.
CLOCK_SKEW = pd.Timedelta(minutes=10)


def chronological(df: pd.DataFrame) -> pd.DataFrame:
    """Rows ordered by when their run was taken: dates parsed (a journal's naive date read as
    UTC, like the saved runs' "+00:00"), never as text or as category codes."""
    when = pd.to_datetime(df.run_date.astype(str), utc=True, format="ISO8601", errors="coerce")
    return df.assign(_when=when).sort_values(["_when", "run"], kind="stable").drop(columns="_when")


@dataclass
class Runs:
    """Saved runs as the report needs them."""

    samples: pd.DataFrame
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)  # run -> machine_info
    # run -> platform (with variant) -> the platform's metadata at the time
    platforms: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)  # runs that stopped before their end
    warnings: list[str] = field(default_factory=list)
    # Read from a store, samples hold only each environment's newest run; this holds every
    # run's trend costs (run, env, run_date, commit, scenario, family, label, cost).
    history: pd.DataFrame | None = None
    # Read from a store, the runs the newest ones' noise models are taken from (each
    # environment's earlier complete runs of its newest run's scenario); None: the samples' own.
    earlier: Runs | None = None

    def of_sessions(self, sessions: Iterable[str]) -> set[str]:
        """The runs the given sessions took (saved or journalled)."""
        wanted = set(sessions) - {""}
        return {r for r, m in self.machines.items() if session_in({"machine_info": m}) in wanted}

    def not_history(self, sessions: Iterable[str] = ()) -> set[str]:
        """The runs no noise model or history may rest on: partial ones, reruns of some cases,
        and those of `sessions` (the run being judged)."""
        reruns = {r for r, m in self.machines.items() if selected_cases(m)}
        return self.partial | reruns | self.of_sessions(sessions)


def load_runs(paths: Iterable[Path], pending: Pending | None = None) -> Runs:
    """All samples of the given runs (saved JSON, and journals of runs that saved none), or of
    the ones `pending` began reading. A run that cannot be read is skipped with a warning naming
    it; the others are read."""
    runs = Runs(pd.DataFrame())
    pending = pending or start(list(paths))
    files = pending.files
    named = set(pending.paths)  # a file named must be read; one found in a directory may be skipped
    digests: list[tuple[Path, dict[str, Any]]] = []
    for path, d in zip(pending.saved, pending.result(), strict=True):
        if isinstance(d, str) and path in named:
            raise TriptychError(d)
        if isinstance(d, str):
            runs.warnings.append(f"skipped {d}")
        else:
            digests.append((path, d))
    readable = {p for p, _ in digests}
    found = sources(
        [p for p in files if p.suffix != ".json" or p in readable],
        {p: str(d["session"] or "") for p, d in digests},
    )
    runs.warnings.extend(found.warnings)
    for s in found.runs:
        if s.doc is not None:
            try:
                digests.append((s.path, digest_of(s.path, s.doc)))
            except TriptychError as e:
                runs.warnings.append(f"skipped {e}")
    names = _run_names(digests)
    runs.partial = {names[s.path] for s in found.runs if s.partial}
    for path, d in digests:
        runs.machines[names[path]] = d["machine_info"]
        runs.platforms[names[path]] = d["platforms"]
        if names[path] != path.stem:
            cats = d["text"]["run"]["categories"]
            d["text"]["run"]["categories"] = [names[path] if c == path.stem else c for c in cats]
    runs.samples = samples_frame([d for _, d in digests])
    return runs


def run_key(name: str, machine: str) -> str:
    """A run's name where runs of several machines share a file name (every machine's first
    run is 0001_x): NAME@MACHINE, from files and from a store alike."""
    return f"{name}@{machine}"


def _run_names(digests: list[tuple[Path, dict[str, Any]]]) -> dict[Path, str]:
    """Each run's name: its file's stem, or STEM@MACHINE where runs of several machines share
    a stem (every machine's first run is 0001_x; a store names them so too)."""
    stems = [p.stem for p, _ in digests]
    return {
        p: run_key(p.stem, str(d["machine_info"].get("node", p.parent.name)))
        if stems.count(p.stem) > 1
        else p.stem
        for p, d in digests
    }


def samples_frame(digests: list[dict[str, Any]]) -> pd.DataFrame:
    """One DataFrame from many digests, a row per sample; text columns stay categorical (fast
    to group). Each column is converted once: every digest's values at its level joined, codes
    shifted into one table of categories, then repeated per sample, with no per-value step."""
    rounds = _joined([d["counts"]["rounds"] for d in digests], np.int64)  # of each case
    samples = _joined([d["counts"]["samples"] for d in digests], np.int64)  # of each round
    per_case = _sums(samples, rounds)
    lengths = {  # every digest's count of values at each level
        "run": np.ones(len(digests), dtype=np.int64),
        "case": np.array([len(d["counts"]["rounds"]) for d in digests], dtype=np.int64),
        "round": np.array([len(d["counts"]["samples"]) for d in digests], dtype=np.int64),
    }
    repeat = {"run": _sums(per_case, lengths["case"]), "case": per_case, "round": samples}
    lengths["sample"] = repeat["run"]
    data: dict[str, Any] = {}
    for c in TEXT:
        categories: dict[str, int] = {}
        lookup: list[int] = []  # each distinct list of local categories, one block after another
        offsets: list[int] = []
        blocks: dict[tuple[str, ...], int] = {}  # where a list's block starts in lookup
        for d in digests:
            names = tuple(d["text"][c]["categories"])  # most are the same night after night
            if names not in blocks:
                blocks[names] = len(lookup)
                lookup.extend(categories.setdefault(x, len(categories)) for x in names)
            offsets.append(blocks[names])
        shift = np.repeat(np.array(offsets, dtype=np.int64), lengths[LEVEL[c]])
        local = _joined([d["text"][c]["codes"] for d in digests], np.int32) + shift
        table = np.asarray(lookup or [0], dtype=np.int64)
        codes = _per_sample(table[local], repeat, LEVEL[c])
        data[c] = pd.Categorical.from_codes(codes, categories=pd.Index(list(categories)))
    for c, dtype in TYPED.items():
        values = _joined([d[c] for d in digests], np.dtype(dtype))
        data[c] = _per_sample(values, repeat, LEVEL[c])
    return pd.DataFrame(data, columns=COLUMNS)


def _sums(values: np.ndarray[Any, Any], groups: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The sums of consecutive groups of values, `groups` long each (a group may be empty)."""
    ends = np.concatenate([[0], np.cumsum(values)])
    last = np.cumsum(groups)
    return np.asarray(ends[last] - ends[last - groups], dtype=np.int64)


def _per_sample(
    values: np.ndarray[Any, Any], repeat: dict[str, np.ndarray[Any, Any]], level: str
) -> np.ndarray[Any, Any]:
    """A level's values, one per sample."""
    return values if level == "sample" else np.repeat(values, repeat[level])


def _joined(arrays: list[Any], dtype: Any) -> np.ndarray[Any, Any]:  # noqa: ANN401 - a dtype
    """Typed arrays (array.array) end to end, as one numpy array."""
    if not arrays:
        return np.zeros(0, dtype=dtype)
    return np.concatenate([np.frombuffer(a, dtype=dtype) for a in arrays])
