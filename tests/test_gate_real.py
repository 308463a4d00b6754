"""The gate on real runs of this machine: an unchanged system passes, a container limited to
half a CPU fails it, named, about 2x slower, and nothing is said of the host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.suite_run import run_suite, suite_env
from triptych.cli import main

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


def _run(tmp_path: Path, name: str, docker: str = "") -> Path:
    where = tmp_path / name
    where.mkdir()
    result = run_suite(
        where,
        SCENARIO + docker,
        f"--benchmark-save={name}",
        f"--triptych-scratch={where}/scratch",
        env=suite_env(TRIPTYCH_REQUIRE_PLATFORMS="all"),
    )
    assert result.returncode == 0, result.stdout[-2000:]
    (saved,) = (where / ".benchmarks").glob("*/*.json")
    return saved


def test_unchanged_passes_and_half_a_cpu_fails(
    tmp_path: Path, bench_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base, same = _run(tmp_path, "base"), _run(tmp_path, "same")
    half = _run(tmp_path, "half", "[docker]\ncpus = 0.5\n")
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
