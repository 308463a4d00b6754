"""What a unit of work costs the host's CPUs, from each round's host CPU (host_cpu.py) and its
primary metric: "the same throughput at twice the cores" made visible.

Each round's figure is the cores it kept busy (CPU-seconds over its wall time) divided by the
rate its tool measured, in CPU-seconds per unit of the rate's work (per Gbit, per request, per
MB, per event). Only cases whose primary metric is a rate have one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from triptych.host_cpu import PARTS
from triptych.per_unit import work_of
from triptych.results.costs import primary_rows

METRIC = "host CPU per unit of work"
CPU_COLUMNS = [f"cpu_{p}" for p in PARTS]


def _measured(run: pd.DataFrame) -> pd.DataFrame:
    """The primary metric's rounds that recorded host CPU and measured a rate above zero."""
    rows = primary_rows(run)
    rate = rows.unit.astype(str).map(work_of) != ""
    known = rows[[*CPU_COLUMNS, "round_wall"]].notna().all(axis=1) & (rows.round_wall > 0)
    return rows[rate & known & rows.higher_is_better & (rows.value > 0)]


def per_unit_samples(run: pd.DataFrame) -> pd.DataFrame:
    """Each such round's host CPU per unit of work, as a sample of its own (lower is better)
    beside the round's figures, so it is compared with the host like any other metric."""
    rows = _measured(run)
    if rows.empty:
        return rows
    cores = rows[CPU_COLUMNS].sum(axis=1) / rows.round_wall
    units = "CPU-s/" + rows.unit.astype(str).map(work_of)
    out = rows.assign(
        metric=METRIC,
        unit=units,
        higher_is_better=False,
        value=(cores / rows.value).to_numpy(dtype=float),
    )
    for c in ("metric", "unit"):
        out[c] = out[c].astype("category")
    return out


@dataclass(frozen=True)
class HostCpuCell:
    """One column's figures for one case (medians over its rounds)."""

    rate: float
    own: float  # cores: the workload's own processes, on the host and inside the instance
    platform: float  # cores: what carries the instance
    softirq: float  # cores: the kernel's softirq, machine-wide
    per_unit: float  # CPU-seconds per unit of work, every part
    platform_per_unit: float  # CPU-seconds per unit of work, the platform's part only
    rounds: int


@dataclass(frozen=True)
class HostCpuRow:
    case: str
    rate_unit: str
    work: str
    cells: dict[str, HostCpuCell]  # column label -> figures


def host_cpu_rows(run: pd.DataFrame) -> list[HostCpuRow]:
    """One row per case with a rate and host CPU recorded, every column of it."""
    rows = _measured(run)
    out = []
    for (case, unit), by_case in rows.groupby(["case", "unit"], observed=True, sort=True):
        cells = {}
        for label, r in by_case.groupby("label", observed=True, sort=False):
            wall = r.round_wall.to_numpy(dtype=float)
            rate = r.value.to_numpy(dtype=float)
            own = (r.cpu_client + r.cpu_inside).to_numpy(dtype=float) / wall
            platform = r.cpu_platform.to_numpy(dtype=float) / wall
            softirq = r.cpu_softirq.to_numpy(dtype=float) / wall
            cells[str(label)] = HostCpuCell(
                rate=float(np.median(rate)),
                own=float(np.median(own)),
                platform=float(np.median(platform)),
                softirq=float(np.median(softirq)),
                per_unit=float(np.median((own + platform + softirq) / rate)),
                platform_per_unit=float(np.median(platform / rate)),
                rounds=len(r),
            )
        out.append(HostCpuRow(str(case), str(unit), work_of(str(unit)), cells))
    return out
