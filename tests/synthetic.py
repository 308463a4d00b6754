"""Saved runs with a known truth: pytest-benchmark JSON written the way the plugin writes it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triptych.platforms.catalog import KINDS
from triptych.record import CaseRecord, rounds_from_samples
from triptych.sample import Sample

MACHINE = {
    "cpu_model": "Synthetic CPU",
    "cpu_count_logical": 2,
    "kernel": "6.1.0-test",
    "host_virtualization": "none",
    "cpu_governor": "performance",
}

# (case, family, metric, unit, higher_is_better)
Metric = tuple[str, str, str, str, bool]
DEFAULT_METRICS: list[Metric] = [
    ("cpu-sysbench", "cpu", "cpu events", "events/s", True),
    ("net-latency", "network", "round-trip time p50", "us", False),
]


def case_record(
    platform: str, case: str, family: str, samples: list[Sample], **fields: Any
) -> CaseRecord:
    """A record as the runner stores it, its rounds numbered by each sample's `round`
    metadata; `fields` override the defaults (variant, emulated...)."""
    kind = KINDS.get(platform)
    values: dict[str, Any] = {
        "scenario": "synthetic",
        "case": case,
        "workload": case,
        "family": family,
        "tool": case,
        "platform": platform,
        "variant": "default",
        "primary_variant": True,
        "emulated": False,
        "platform_rank": kind.rank if kind else 9,
        "params": {},
        "duration": 1.0,
        "rounds": len({s.metadata.get("round", 0) for s in samples}),
        "platform_metadata": {"platform": platform, "layer": "none"},
        "measured": rounds_from_samples(samples),
    }
    return CaseRecord(**{**values, **fields})


def write_run(
    path: Path,
    platforms: Sequence[str],
    rounds: int,
    value: Callable[[str, Metric, int], float],
    metrics: Sequence[Metric] = DEFAULT_METRICS,
    date: str = "2026-11-28T00:00:00",
    machine: dict[str, Any] | None = None,
    commit: str = "abc123",
) -> Path:
    benchmarks = []
    for case, family, metric, unit, hib in metrics:
        for platform in platforms:
            samples = [
                Sample(
                    metric,
                    value(platform, (case, family, metric, unit, hib), r),
                    unit,
                    hib,
                    metadata={"round": r},
                    timestamp=0.0,
                )
                for r in range(rounds)
            ]
            record = case_record(platform, case, family, samples)
            benchmarks.append(
                {
                    "group": f"synthetic/{case}",
                    "name": f"test_case[synthetic/{case}/{platform}]",
                    "fullname": f"bench/test_triptych.py::test_case[synthetic/{case}/{platform}]",
                    "params": None,
                    "param": None,
                    "stats": {
                        "min": 1.0,
                        "max": 1.0,
                        "mean": 1.0,
                        "stddev": 0.0,
                        "rounds": rounds,
                        "median": 1.0,
                        "iqr": 0.0,
                        "q1": 1.0,
                        "q3": 1.0,
                        "iqr_outliers": 0,
                        "stddev_outliers": 0,
                        "outliers": "0;0",
                        "ld15iqr": 1.0,
                        "hd15iqr": 1.0,
                        "ops": 1.0,
                        "total": float(rounds),
                        "iterations": 1,
                    },
                    "extra_info": record.to_extra_info(),
                }
            )
    doc = {
        "machine_info": {"node": "synthetic", "triptych": {**MACHINE, **(machine or {})}},
        "commit_info": {"id": commit, "dirty": False},
        "benchmarks": benchmarks,
        "datetime": date,
        "version": "5.2.3",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def noisy(
    scale: dict[str, float], cv: float = 0.03, seed: int = 1
) -> Callable[[str, Metric, int], float]:
    """Values around 1000 x scale[platform] (x its direction), with relative noise cv."""
    rng = np.random.default_rng(seed)

    def value(platform: str, metric: Metric, r: int) -> float:
        return float(1000 * scale.get(platform, 1.0) * (1 + rng.normal(0, cv)))

    return value
