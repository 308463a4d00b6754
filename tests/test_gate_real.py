"""The gate on real runs of this machine: an unchanged system passes, a container limited to
half a CPU fails it, named, about 2x slower, and nothing is said of the host."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.suite_run import run_suite, saved_run, suite_env
from triptych.cli import main
from triptych.record import CaseRecord

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCENARIO = """
[scenario]
name = "gate"
platforms = ["host", "docker-bridge"]
rounds = 5
duration = 2

[[case]]
name = "cpu-sysbench"
workload = "sysbench-cpu"
"""


HALF = "[docker]\ncpus = 0.5\n"


def _compared(where: Path, name: str, docker: str, expected: int) -> Path:
    """A run saved beside the first one, which pytest-benchmark compares with it as it ends
    (--benchmark-compare-fail: a per-benchmark threshold, no statistics): it passes an unchanged
    run and fails half a CPU. The threshold is wide, 40%, as a threshold without statistics must be
    on a shared machine (10% failed an unchanged run in CI); half a CPU costs +100%. Saved either
    way, before the comparison."""
    result = run_suite(
        where,
        SCENARIO + docker,
        f"--benchmark-save={name}",
        "--benchmark-compare=0001",
        "--benchmark-compare-fail=mean:40%",
        f"--triptych-scratch={where}/scratch-{name}",
        env=suite_env(TRIPTYCH_REQUIRE_PLATFORMS="all"),
    )
    assert result.returncode == expected, result.stdout[-3000:]
    assert ("Performance has regressed" in result.stdout) == bool(expected), result.stdout[-3000:]
    (saved,) = where.glob(f".benchmarks/*/*_{name}.json")
    return saved


def test_unchanged_passes_and_half_a_cpu_fails(
    tmp_path: Path, bench_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "runs"
    base = saved_run(where, SCENARIO, "base", f"--triptych-scratch={where}/scratch")[0]
    same = _compared(where, "same", "", 0)
    half = _compared(where, "half", HALF, 1)
    assert main(["compare", str(base), str(same)]) == 0
    assert "**0 regression(s)**" in capsys.readouterr().out
    assert main(["compare", str(base), str(half)]) == 1
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| cpu-sysbench")]
    assert len(rows) == 1, out  # docker-bridge only: nothing of the host
    assert "| cpu events | docker-bridge |" in rows[0]
    slower = re.search(r"\| (\d+\.\d\d)x slower \(", rows[0])
    assert slower is not None, rows[0]
    assert 1.8 <= float(slower.group(1)) <= 2.2
    _pytest_benchmark_shows_the_figures(base, same)


def _pytest_benchmark_shows_the_figures(base: Path, same: Path) -> None:
    """pytest-benchmark's own compare shows seconds per event (what sysbench measured)."""
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "pytest-benchmark"), "compare", str(base), str(same)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    unit = re.search(r"\(time in (\w+)\)", shown)
    assert unit is not None, shown
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[unit.group(1)]
    events = [
        s.value
        for b in json.loads(base.read_text())["benchmarks"]
        if b["name"] == "test_case[gate/cpu-sysbench/host]"
        for s in CaseRecord.from_extra_info(b["extra_info"]).samples
    ]
    row = re.search(r"cpu-sysbench/host\] \([^)]*0001_base\)\s+([\d,.]+)", shown)
    assert row is not None, shown
    minimum = float(row.group(1).replace(",", "")) * scale
    assert minimum == pytest.approx(1 / max(events), rel=1e-3)
