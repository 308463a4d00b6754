"""Faults in the middle of a real run: the case says what happened, finished cases are kept,
and nothing of the suite is left behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import docker
import libvirt
import pytest

from tests.suite_run import run_until_first_case
from triptych.report.load import load_runs
from triptych.session import LABEL, NAME_PREFIX

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow

SCENARIO = """
[scenario]
name = "f"
platforms = ["{platform}"]
rounds = 1
duration = 1
timeout = 300

[[case]]
name = "first"
workload = "sysbench-cpu"

[[case]]
name = "long"
workload = "sysbench-cpu"
duration = 120
"""


def start_run(tmp_path: Path, platform: str) -> tuple[subprocess.Popen[str], Path]:
    return run_until_first_case(
        tmp_path,
        SCENARIO.format(platform=platform),
        "--benchmark-save=f",
        "--triptych-order=scenario",
        wait=300,
        settle=3,
    )


def check_outcome(proc: subprocess.Popen[str], tmp_path: Path, message: str) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1, out[-3000:]
    assert "1 failed, 1 passed" in out, out[-3000:]
    assert message in out, out[-3000:]
    runs = load_runs([tmp_path / ".benchmarks"])
    assert set(runs.samples.case) == {"first"}  # the finished case was kept
    return out


@pytest.mark.docker
def test_container_killed_mid_case(
    tmp_path: Path, docker_client: docker.DockerClient, bench_image: str
) -> None:
    proc, journal = start_run(tmp_path, "docker-host")
    session = journal.stem
    (container,) = docker_client.containers.list(filters={"label": [f"{LABEL}={session}"]})
    container.kill()  # from outside, mid-case
    check_outcome(proc, tmp_path, "stopped during the run")
    f: dict[str, str | list[str] | bool] = {"label": [f"{LABEL}={session}"]}
    assert docker_client.containers.list(all=True, filters=f) == []
    assert docker_client.volumes.list(filters=f) == []


@pytest.mark.vm
def test_vm_destroyed_mid_case(tmp_path: Path) -> None:
    proc, journal = start_run(tmp_path, "vm")
    session = journal.stem
    conn = libvirt.open("qemu:///system")
    try:
        conn.lookupByName(f"{NAME_PREFIX}{session}-vm").destroy()  # from outside, mid-case
        check_outcome(proc, tmp_path, "was destroyed during the run")
        names = [d.name() for d in conn.listAllDomains(0)] + [
            n.name() for n in conn.listAllNetworks(0)
        ]
        assert [n for n in names if session in n] == []
    finally:
        conn.close()
