"""Reads saved pytest-benchmark JSON files into one DataFrame of samples (never runs anything)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from triptych import RESULT_API_VERSION
from triptych.errors import TriptychError
from triptych.journal import read_journal

COLUMNS = [
    "run",
    "run_file",
    "run_date",
    "commit",
    "env",
    "scenario",
    "case",
    "workload",
    "family",
    "platform",
    "variant",
    "metric",
    "unit",
    "higher_is_better",
    "round",
    "value",
    "layer",
    "acceleration",
]
# What must match for two runs to be compared or trended together (pyperf's rule, ours).
ENV_KEYS = ("cpu_model", "cpu_count_logical", "kernel", "host_virtualization")


def env_key(machine: dict[str, Any]) -> str:
    """The environment a run was taken in, as one comparable string."""
    t = machine.get("triptych", {})
    return " | ".join(f"{k}={t.get(k, '?')}" for k in ENV_KEYS)


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """The JSON files named, or found under the directories named, oldest first."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted([*p.rglob("*.json"), *p.rglob("*.jsonl")]))
        elif p.is_file():
            found.append(p)
        else:
            raise TriptychError(
                f"{p}: no such run file or directory; pass a saved run "
                "(.benchmarks/<machine>/NNNN_name.json) or a directory of them"
            )
    return found


@dataclass
class Runs:
    """Saved runs as the report needs them."""

    samples: pd.DataFrame
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)  # run -> machine_info
    # run -> platform (with variant) -> the platform's metadata at the time
    platforms: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)  # runs that stopped before their end
    warnings: list[str] = field(default_factory=list)


def _platforms(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for bench in doc.get("benchmarks", []):
        info = bench.get("extra_info") or {}
        if "triptych_api" in info and "platform_metadata" in info:
            out.setdefault(str(info.get("platform")), dict(info["platform_metadata"]))
    return out


def _rows(path: Path, doc: dict[str, Any], cols: dict[str, list[Any]]) -> None:
    """Append the run's samples to cols, column by column (fast for hundreds of runs)."""
    commit = (doc.get("commit_info") or {}).get("id") or ""
    env = env_key(doc.get("machine_info") or {})
    for bench in doc.get("benchmarks", []):
        info = bench.get("extra_info") or {}
        if "triptych_api" not in info:
            continue  # a plain pytest-benchmark result, not one of ours
        if int(info["triptych_api"]) > RESULT_API_VERSION:
            raise TriptychError(
                f"{path}: written by a newer triptych (result api "
                f"{info['triptych_api']}); upgrade triptych to read it"
            )
        samples = info.get("samples", [])
        n = len(samples)
        for key, value in (
            ("run", path.stem),
            ("run_file", str(path)),
            ("run_date", doc.get("datetime", "")),
            ("commit", commit),
            ("env", env),
            ("case", info.get("case", "")),
            ("family", info.get("family", "")),
            ("variant", info.get("variant", "default")),
        ):
            cols[key].extend([value] * n)
        try:
            for raw in samples:
                meta = raw.get("metadata", {})
                cols["scenario"].append(raw["scenario"])
                cols["workload"].append(raw["workload"])
                cols["platform"].append(raw["platform"])
                cols["metric"].append(raw["metric"])
                cols["unit"].append(raw["unit"])
                cols["higher_is_better"].append(bool(raw["higher_is_better"]))
                cols["round"].append(meta.get("round", 0))
                cols["value"].append(float(raw["value"]))
                cols["layer"].append(meta.get("layer", ""))
                cols["acceleration"].append(meta.get("acceleration", ""))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TriptychError(
                f"{path}: benchmark {bench.get('name')}: malformed sample ({e!r}); "
                "the file was edited or truncated: remove it or restore it"
            ) from None


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as e:
        raise TriptychError(
            f"{path}: not a readable pytest-benchmark run ({e}); remove it or pass other runs"
        ) from None
    if not isinstance(doc, dict) or "benchmarks" not in doc:
        raise TriptychError(
            f"{path}: not a pytest-benchmark run (no 'benchmarks'); "
            "pass files saved with --benchmark-save"
        )
    return doc


def load_runs(paths: Iterable[Path]) -> Runs:
    """All samples of the given runs (saved JSON, and journals of runs that saved none)."""
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    runs = Runs(pd.DataFrame())
    files = find_runs(paths)
    docs = [(p, _read(p)) for p in files if p.suffix == ".json"]
    saved = {
        (d.get("machine_info") or {}).get("triptych", {}).get("session"): p.stem for p, d in docs
    }
    for path in (p for p in files if p.suffix == ".jsonl"):
        j = read_journal(path)
        runs.warnings.extend(j.warnings)
        if j.session in saved:
            # pytest-benchmark saved this session (it saves even when interrupted): its JSON
            # is the record, partial if the journal never reached its end.
            if j.partial:
                runs.partial.add(saved[j.session])
            continue
        named = path.with_name(f"{j.session}-journal")
        if j.partial:
            runs.partial.add(named.stem)
        docs.append((named, j.doc))
    for path, doc in docs:
        _rows(path, doc, cols)
        runs.machines[path.stem] = doc.get("machine_info") or {}
        runs.platforms[path.stem] = _platforms(doc)
    runs.samples = pd.DataFrame(cols, columns=COLUMNS)
    return runs
