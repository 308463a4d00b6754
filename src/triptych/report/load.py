"""Reads saved pytest-benchmark JSON files into one DataFrame of samples (never runs anything)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from triptych import RESULT_API_VERSION
from triptych.errors import TriptychError
from triptych.sample import Sample

COLUMNS = [
    "run",
    "run_file",
    "run_date",
    "commit",
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


def _rows(path: Path, doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    commit = (doc.get("commit_info") or {}).get("id") or ""
    for bench in doc.get("benchmarks", []):
        info = bench.get("extra_info") or {}
        if "triptych_api" not in info:
            continue  # a plain pytest-benchmark result, not one of ours
        if int(info["triptych_api"]) > RESULT_API_VERSION:
            raise TriptychError(
                f"{path}: written by a newer triptych (result api "
                f"{info['triptych_api']}); upgrade triptych to read it"
            )
        for raw in info.get("samples", []):
            s = Sample.from_dict(raw)
            rows.append(
                {
                    "run": path.stem,
                    "run_file": str(path),
                    "run_date": doc.get("datetime", ""),
                    "commit": commit,
                    "scenario": s.scenario,
                    "case": info.get("case", ""),
                    "workload": s.workload,
                    "family": info.get("family", ""),
                    "platform": s.platform,
                    "variant": info.get("variant", "default"),
                    "metric": s.metric,
                    "unit": s.unit,
                    "higher_is_better": s.higher_is_better,
                    "round": s.metadata.get("round", 0),
                    "value": s.value,
                    "layer": s.metadata.get("layer", ""),
                    "acceleration": s.metadata.get("acceleration", ""),
                }
            )
    return rows


def load_runs(paths: Iterable[Path]) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """All samples of the given runs as one DataFrame, and each run's machine info by run name."""
    rows: list[dict[str, Any]] = []
    machines: dict[str, dict[str, Any]] = {}
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
        machines[path.stem] = doc.get("machine_info", {})
    return pd.DataFrame(rows, columns=COLUMNS), machines
