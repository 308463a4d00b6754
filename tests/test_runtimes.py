"""Container runtimes side by side (`[docker] runtimes`), on the real dockerd: each runtime its
own column, measured where it runs; where it cannot, every case skipped with one line saying
why, never failed and never silently dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.suite_run import run_suite
from triptych.platforms.runtimes import RUNTIMES
from triptych.report.render import render
from triptych.results.load import load_runs

SCENARIO = """
[scenario]
name = "rt"
platforms = ["host", "docker-host", "docker-bridge"]
rounds = 2
duration = 1
warmup = 0

[docker]
runtimes = ["runc", "runsc", "crun"]

[[case]]
name = "cpu"
workload = "sysbench-cpu"

[[case]]
name = "net"
workload = "iperf3-tcp"
"""


def _skips(output: str) -> list[str]:
    """The skip reasons pytest's -rs summary printed."""
    return [line.partition(": ")[2] for line in output.splitlines() if line.startswith("SKIPPED")]


@pytest.mark.slow
def test_runtimes_get_columns_or_one_line_each(tmp_path: Path, bench_image: str) -> None:
    result = run_suite(
        tmp_path, SCENARIO, "--benchmark-save=rt", f"--triptych-scratch={tmp_path}/s"
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:]
    (saved,) = (tmp_path / ".benchmarks").rglob("*.json")
    measured = {
        (b["extra_info"]["platform"], b["extra_info"]["profile"], b["extra_info"]["case"])
        for b in json.loads(saved.read_text())["benchmarks"]
    }
    # runc measures everything; gVisor measures CPU under the host's network mode.
    for platform in ("docker-host", "docker-bridge"):
        assert {(platform, "runc", "cpu"), (platform, "runc", "net")} <= measured
    assert ("docker-host", "runsc", "cpu") in measured
    # What gVisor declares it cannot do here is skipped with its declaration, never measured.
    assert ("docker-host", "runsc", "net") not in measured
    skips = " ".join(_skips(out))
    assert "docker-host.runsc cannot run network workloads here: gVisor's host networking" in skips
    # Its own network stack (docker-bridge) starts on some kernels and not on this one: either
    # it is measured, or every case says the runtime's own refusal.
    if ("docker-bridge", "runsc", "cpu") not in measured:
        assert "runtime runsc could not start a container here:" in skips
    # crun needs unified cgroups: measured where the machine has them, else one line each.
    why = RUNTIMES["crun"].unusable_here()
    if why is not None:
        assert not {m for m in measured if m[1] == "crun"}
        assert skips.count(f"runtime crun: {why}") >= 2
    # The report and the terminal show each runtime as its own column.
    html = render(load_runs([saved]))
    assert "docker-host runsc" in html
    assert "docker-host runc" in html
    assert "docker-host runsc" in out
