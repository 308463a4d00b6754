"""The host CPU a round costs, by part (host_cpu.py), against processes whose CPU time is known
because they say it themselves: children that start, end or live through a round, and a
container's processes. The VM's split is checked in tests/test_vm_platform.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from triptych import fields
from triptych.host_cpu import Carriers, HostCpu, read, since
from triptych.platforms.docker import DOCKER_ENGINES, DockerBridgePlatform
from triptych.platforms.settings import DockerSettings
from triptych.session import new_session_id

# Reads a CPU budget per line, burns it, and answers with its whole life's CPU so far.
BURNER = """
import sys, time
for line in sys.stdin:
    start = time.process_time()
    while time.process_time() - start < float(line):
        pass
    print(time.process_time(), flush=True)
"""
TOLERANCE = 0.04  # seconds: the kernel counts CPU time in ticks of 10 ms, per process


def _burner() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _burn(proc: subprocess.Popen[str], seconds: float) -> float:
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(f"{seconds}\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def test_a_child_started_and_ended_in_the_round_counts_whole() -> None:
    before = read(Carriers())
    child = _burner()
    life = _burn(child, 0.4)
    child.communicate("")
    spent = since(before, Carriers())
    assert abs(spent.client - life) <= TOLERANCE, (spent, life)
    assert spent.inside == 0.0
    assert spent.platform == 0.0


def test_a_child_alive_before_counts_only_what_it_spent_in_the_round() -> None:
    child = _burner()
    earlier = _burn(child, 0.3)  # spent before the round: not the round's
    before = read(Carriers())
    life = _burn(child, 0.4)
    child.communicate("")  # ends, and is waited for, inside the round
    spent = since(before, Carriers())
    assert abs(spent.client - (life - earlier)) <= TOLERANCE, (spent, life, earlier)


def test_a_server_living_through_the_round_counts_its_share() -> None:
    child = _burner()
    try:
        earlier = _burn(child, 0.2)
        before = read(Carriers())
        life = _burn(child, 0.4)
        spent = since(before, Carriers())
    finally:
        child.communicate("")
    assert abs(spent.client - (life - earlier)) <= TOLERANCE, (spent, life, earlier)


def test_the_record_refuses_an_impossible_figure() -> None:
    good = {"wall": 1.0, "client": 0.5, "inside": 0.0, "platform": 0.1, "softirq": 0.0}
    assert HostCpu.from_dict(good) == HostCpu(1.0, 0.5, 0.0, 0.1, 0.0)
    for bad in ({**good, "client": -1.0}, {**good, "platform": "0.1"}, {**good, "wall": None}):
        with pytest.raises(fields.FieldError):
            HostCpu.from_dict(bad)


@pytest.fixture
def bridge(bench_image: str) -> Iterator[DockerBridgePlatform]:
    with DockerBridgePlatform(new_session_id(), (15221, 15222), DockerSettings()) as p:
        yield p


@pytest.mark.docker
def test_a_containers_processes_are_inside_and_its_engine_is_the_platforms(
    bridge: DockerBridgePlatform,
) -> None:
    carriers = bridge.carriers()
    assert len(carriers.cgroups) == 1
    assert carriers.engines == DOCKER_ENGINES
    before = read(carriers)
    # stress-ng reports the CPU its stressor used: user and system time, from its own rusage.
    out = bridge.execute(
        ["stress-ng", "--cpu", "1", "--cpu-method", "int64", "--timeout", "1", "--times"], 60
    ).check("container")
    spent = since(before, carriers)
    text = out.stdout + out.stderr
    used = sum(float(x) for x in re.findall(r"([\d.]+)s (?:user|system) time", text))
    assert used > 0.5, text
    # The container's processes (stress-ng's parent and its stressor) are inside, never the
    # run's own: the client part is this process's children, and it started none.
    assert spent.inside >= used - TOLERANCE, (spent, used)
    assert spent.inside <= used + 0.3, (spent, used)  # stress-ng's parent and exec's start
    assert spent.client <= TOLERANCE
