"""Density (workloads/density.py) against the real Docker engine: N containers started one
after another and at once, what each holds at rest, the memory reserve that stops it, and what a
run killed half-way leaves (nothing, once the next run sweeps)."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from tests.intruder import crashed
from tests.test_docker_platform import suite_resources
from triptych.errors import TriptychError
from triptych.platforms.docker import DockerBridgePlatform
from triptych.platforms.docker_sweep import clean_docker
from triptych.platforms.instance import mem_available_bytes
from triptych.platforms.settings import DockerSettings
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

pytestmark = pytest.mark.docker
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


def test_the_reserve_stops_it_short_and_says_why(
    bridge: DockerBridgePlatform, docker_client: docker.DockerClient
) -> None:
    own = suite_resources(docker_client, bridge.session)
    # A reserve just under what is free now: the first container fits, a second would not.
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
