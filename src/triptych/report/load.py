"""Reads saved pytest-benchmark JSON files into one DataFrame of samples (never runs anything)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from triptych import RESULT_API_VERSION
from triptych.errors import TriptychError

COLUMNS = ["run", "run_file", "run_date", "commit", "env", "scenario", "case", "workload",
           "family", "platform", "variant", "metric", "unit", "higher_is_better", "round",
           "value", "layer", "acceleration"]  # fmt: skip
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
            found.extend(sorted(p.rglob("*.json")))
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


def _platforms(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for bench in doc.get("benchmarks", []):
        info = bench.get("extra_info") or {}
        if "triptych_api" in info and "platform_metadata" in info:
            out.setdefault(str(info.get("platform")), dict(info["platform_metadata"]))
    return out


def _rows(path: Path, doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
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
        base = {
            "run": path.stem,
            "run_file": str(path),
            "run_date": doc.get("datetime", ""),
            "commit": commit,
            "env": env,
            "case": info.get("case", ""),
            "family": info.get("family", ""),
            "variant": info.get("variant", "default"),
        }
        for raw in info.get("samples", []):
            meta = raw.get("metadata", {})
            try:
                rows.append(
                    {
                        **base,
                        "scenario": raw["scenario"],
                        "workload": raw["workload"],
                        "platform": raw["platform"],
                        "metric": raw["metric"],
                        "unit": raw["unit"],
                        "higher_is_better": bool(raw["higher_is_better"]),
                        "round": meta.get("round", 0),
                        "value": float(raw["value"]),
                        "layer": meta.get("layer", ""),
                        "acceleration": meta.get("acceleration", ""),
                    }
                )
            except (KeyError, TypeError, ValueError) as e:
                raise TriptychError(
                    f"{path}: benchmark {bench.get('name')}: malformed sample ({e}); "
                    "the file was edited or truncated: remove it or restore it"
                ) from None
    return rows


def load_runs(paths: Iterable[Path]) -> Runs:
    """All samples of the given runs as one DataFrame, with each run's machine and platforms."""
    rows: list[dict[str, Any]] = []
    runs = Runs(pd.DataFrame())
    for path in find_runs(paths):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise TriptychError(
                f"{path}: not a readable pytest-benchmark run ({e}); remove it or pass other runs"
            ) from None
        if not isinstance(doc, dict) or "benchmarks" not in doc:
            raise TriptychError(
                f"{path}: not a pytest-benchmark run (no 'benchmarks'); "
                "pass files saved with --benchmark-save"
            )
        rows.extend(_rows(path, doc))
        runs.machines[path.stem] = doc.get("machine_info") or {}
        runs.platforms[path.stem] = _platforms(doc)
    runs.samples = pd.DataFrame(rows, columns=COLUMNS)
    return runs
