"""Density (workloads/density.py) against the real Docker engine: N containers started one
after another and at once, what each holds at rest, the memory reserve that stops it, and what a
run killed half-way leaves (nothing, once the next run sweeps)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import docker
import pytest

from tests.intruder import crashed
from tests.test_docker_platform import suite_resources
from triptych.errors import TriptychError
from triptych.platforms.docker import DockerBridgePlatform
from triptych.platforms.docker_sweep import clean_docker
from triptych.platforms.host import HostPlatform
from triptych.platforms.instance import mem_available_bytes
from triptych.platforms.settings import DockerSettings
from triptych.process import CommandResult
from triptych.sample import Sample
from triptych.session import new_session_id
from triptych.workloads.base import RunSpec
from triptych.workloads.density import (
    MEMORY_AVAILABLE,
    MEMORY_PSS,
    STARTED,
    Density,
    DensityParams,
    index_metric,
    launch_metric,
    percentile,
)

SPEC = RunSpec(1.0, 120.0)


@pytest.fixture
def bridge(bench_image: str) -> Iterator[DockerBridgePlatform]:
    with DockerBridgePlatform(new_session_id(), (15231,), DockerSettings()) as p:
        yield p


def _by_metric(samples: list[Sample]) -> dict[str, Sample]:
    return {s.metric: s for s in samples}


def test_percentiles_by_hand() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.95) == pytest.approx(4.8)  # 4 + 0.8 * 1
    assert percentile([7.0], 0.95) == 7.0


class Sleeper:
    """An instance that is one real host process (sleep), for the reserve's rule."""

    work_dir = "/tmp"

    def __init__(self, tag: str) -> None:
        self.name = tag
        self._proc = subprocess.Popen(["sleep", "120"])

    def wait_until_answers(self, timeout: float) -> None:
        return None

    def host_pids(self) -> list[int]:
        return [self._proc.pid]

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        raise AssertionError("density runs nothing inside an instance")

    def pin(self, cpus: tuple[int, ...]) -> None:
        raise AssertionError("density pins nothing")

    def address(self) -> str:
        raise AssertionError("density reaches no server inside an instance")

    def remove(self) -> bool:
        self._proc.kill()
        self._proc.wait()
        return True


class Sleepers(HostPlatform):
    made: list[Sleeper]

    def new_instance(self, tag: str) -> Sleeper:
        self.made.append(Sleeper(tag))
        return self.made[-1]


def test_memory_freed_elsewhere_never_lets_in_what_the_guess_keeps_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # MemAvailable that rises by 64 MiB at every reading, as when another process frees its
    # page cache while the instances start: the reading alone would admit all four.
    start = 10 * 2**30
    readings = iter(range(start, start + 1000 * 2**26, 2**26))
    monkeypatch.setattr("triptych.workloads.density.mem_available_bytes", lambda: next(readings))
    platform = Sleepers(new_session_id(), tmp_path)
    platform.made = []
    # A reserve of exactly what the round finds: the first fits; a sleep holds some hundreds
    # of KiB of PSS, so by the guess a second would not, whatever the reading says.
    params = DensityParams(instances=4, reserve_mib=start // 2**20, settle=0.0)
    got = _by_metric(Density(params, SPEC).measure(platform, "default"))
    assert got[STARTED].value == 1.0
    assert got[STARTED].metadata["stopped"] == (
        "stopped at 1: MemAvailable would fall below its 10240 MiB reserve"
    )
    assert got[STARTED].metadata["at_once"] == 0
    assert [s._proc.returncode for s in platform.made] == [-9]  # started, and removed


@pytest.mark.docker
def test_n_containers_one_by_one_and_at_once(
    bridge: DockerBridgePlatform, docker_client: docker.DockerClient
) -> None:
    own = suite_resources(docker_client, bridge.session)
    samples = Density(DensityParams(instances=3, settle=0.5), SPEC).measure(bridge, "default")
    got = _by_metric(samples)
    assert got[STARTED].value == 3.0
    assert got[STARTED].metadata["stopped"] == ""
    assert got[STARTED].metadata["at_once"] == 3
    assert got[STARTED].metadata["at_once_stopped"] == ""
    for mode in ("sequential", "parallel"):
        times = [got[index_metric(mode, i)].value for i in range(3)]
        assert all(0.0 < t < 60.0 for t in times), times
        assert got[launch_metric(mode, "p50")].value == sorted(times)[1]
        assert got[launch_metric(mode, "max")].value == max(times)
    # An idle container (tini and sleep) and its shim: a few MiB each, never nothing.
    assert 0.5 < got[MEMORY_PSS].value < 100.0, got[MEMORY_PSS]
    assert got[MEMORY_PSS].metadata["ksm"] in ("on", "off", "absent")
    assert got[MEMORY_AVAILABLE].unit == "MiB"
    # Every instance removed: only the platform's own container and volume are left.
    assert suite_resources(docker_client, bridge.session) == own


@pytest.mark.docker
def test_the_reserve_stops_it_short_and_says_why(
    bridge: DockerBridgePlatform, docker_client: docker.DockerClient
) -> None:
    own = suite_resources(docker_client, bridge.session)
    # A reserve just under what is free now: the first container fits, a second would not (it
    # is guessed to take what the first took, a few MiB, however MemAvailable moves meanwhile).
    reserve = (mem_available_bytes() - 2 * 2**20) // 2**20
    samples = Density(DensityParams(instances=4, reserve_mib=reserve, settle=0.0), SPEC).measure(
        bridge, "default"
    )
    got = _by_metric(samples)
    assert 1 <= got[STARTED].value < 4
    assert "reserve" in str(got[STARTED].metadata["stopped"])
    # At once, by the same guess (each takes the largest drop one took), fewer still: none,
    # said so, and no parallel launch times rather than a misleading figure.
    assert got[STARTED].metadata["at_once"] == 0
    assert "0 of" in str(got[STARTED].metadata["at_once_stopped"])
    assert not any("(parallel)" in m for m in got)
    assert suite_resources(docker_client, bridge.session) == own
    # A reserve above what is free: not even one, and a clear error rather than a figure.
    above = mem_available_bytes() // 2**20 + 1024
    with pytest.raises(TriptychError, match="reserve with the first instance"):
        Density(DensityParams(instances=2, reserve_mib=above), SPEC).measure(bridge, "default")
    assert suite_resources(docker_client, bridge.session) == own


@pytest.mark.docker
def test_a_run_killed_half_way_leaves_nothing_after_the_sweep(
    bench_image: str, docker_client: docker.DockerClient
) -> None:
    session = new_session_id()
    crashed(
        "from triptych.platforms.docker import DockerBridgePlatform\n"
        "from triptych.platforms.settings import DockerSettings\n"
        f"p = DockerBridgePlatform({session!r}, (15232,), DockerSettings())\n"
        "p.start()\n"
        "for i in range(2):\n"
        "    p.new_instance(f'n{i}').wait_until_answers(60)\n"
    )
    left = suite_resources(docker_client, session)
    assert len([n for n in left if "-n" in n]) == 2, left  # the two instances, as it died
    clean_docker()
    assert suite_resources(docker_client, session) == []
