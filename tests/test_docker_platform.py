"""The Docker platforms against the real engine and the suite's own image."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import docker
import pytest

from tests.intruder import crashed
from triptych.errors import CommandTimeout, PlatformUnavailable, TriptychError
from triptych.platforms.base import wait_for_listen
from triptych.platforms.docker import DockerBridgePlatform, DockerHostPlatform
from triptych.platforms.docker_sweep import LABEL, MANAGED_LABEL, clean_docker
from triptych.platforms.settings import DockerSettings
from triptych.session import new_session_id
from triptych.workloads.base import RunSpec
from triptych.workloads.network import Iperf3Params, Iperf3Tcp

pytestmark = pytest.mark.docker
PORTS = (15201, 15202)


def suite_resources(client: docker.DockerClient, session: str) -> list[str]:
    f: dict[str, str | list[str] | bool] = {"label": [f"{LABEL}={session}"]}
    containers = client.containers.list(all=True, filters=f)
    return [str(c.name) for c in containers] + [str(v.name) for v in client.volumes.list(filters=f)]


@pytest.fixture
def bridge(bench_image: str) -> Iterator[DockerBridgePlatform]:
    with DockerBridgePlatform(new_session_id(), PORTS, DockerSettings()) as p:
        yield p


def test_container_is_unprivileged_labelled_and_removed(
    bench_image: str, docker_client: docker.DockerClient
) -> None:
    session = new_session_id()
    with DockerHostPlatform(session, PORTS, DockerSettings()) as p:
        status = p.execute(["cat", "/proc/self/status"], 30).check(p.name).stdout
        cap_eff = next(line for line in status.splitlines() if line.startswith("CapEff"))
        assert int(cap_eff.split()[1], 16) == 0, cap_eff
        (c,) = docker_client.containers.list(filters={"label": [f"{LABEL}={session}"]})
        assert c.labels[MANAGED_LABEL] == "1"
        assert c.attrs["HostConfig"]["Privileged"] is False
        assert c.attrs["HostConfig"]["NetworkMode"] == "host"
        meta = p.metadata()
        assert meta["image_id"] == bench_image
        assert meta["storage_driver"]
        assert meta["engine_version"] != "unknown"
        assert meta["layer"] == "container"
        assert len(suite_resources(docker_client, session)) == 2  # container + volume
    assert suite_resources(docker_client, session) == []


@pytest.mark.fault
def test_run_exit_codes_and_timeout_kills_inside(bridge: DockerBridgePlatform) -> None:
    r = bridge.execute(["sh", "-c", "echo out; echo err >&2; exit 4"], 30)
    assert (r.returncode, r.stdout, r.stderr) == (4, "out\n", "err\n")
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"sleep on docker-bridge did not finish within 1 s"):
        bridge.execute(["sleep", "300"], 1)
    assert time.monotonic() - started < 30
    left = bridge.execute(["sh", "-c", "ps -eo comm | grep -c '^sleep$' || true"], 30).stdout
    assert left.strip() == "1"  # only the container's own `sleep infinity`


def test_disk_variants_are_volume_and_overlay(bridge: DockerBridgePlatform) -> None:
    fs = {}
    for variant in ("volume", "overlay"):
        path = bridge.scratch(variant).path
        bridge.execute(["sh", "-c", 'echo x > "$0/probe"', path], 30).check("t")
        fs[variant] = bridge.execute(["stat", "-f", "-c", "%T", path], 30).stdout.strip()
    assert fs["overlay"] == "overlayfs"
    assert fs["volume"] != "overlayfs"


def test_both_bridge_paths_reach_the_server(bridge: DockerBridgePlatform) -> None:
    endpoints = {v: bridge.endpoint(15201, v) for v in ("bridge-ip", "published")}
    assert endpoints["published"].host == "127.0.0.1"
    assert endpoints["published"].port != 15201
    assert endpoints["bridge-ip"].host.startswith("172.")
    for variant in ("bridge-ip", "published"):
        w = Iperf3Tcp(Iperf3Params(), RunSpec(1, 60))
        w.prepare(bridge, variant)
        try:
            samples = {s.metric: s.value for s in w.measure(bridge, variant)}
        finally:
            w.cleanup(bridge, variant)
        assert samples["tcp throughput"] > 0.01


@pytest.mark.fault
def test_server_stops_and_container_death_is_reported(bridge: DockerBridgePlatform) -> None:
    server = bridge.spawn_service(["sleep", "600"])
    assert server.alive()
    server.stop()
    assert not server.alive()
    assert bridge._container is not None
    bridge._container.kill()
    with pytest.raises(TriptychError, match=r"container .* (is gone|stopped during the run)"):
        bridge.execute(["true"], 10)


def test_cpu_limit_is_applied(bench_image: str) -> None:
    with DockerHostPlatform(new_session_id(), PORTS, DockerSettings(cpus=0.5, memory="256m")) as p:
        assert p._container is not None
        host_config = p._container.attrs["HostConfig"]
        assert host_config["NanoCpus"] == 500_000_000
        assert host_config["Memory"] == 256 * 2**20
        assert p.metadata()["limit_cpus"] == 0.5


def test_cold_start_measures_and_removes(
    bridge: DockerBridgePlatform, docker_client: docker.DockerClient
) -> None:
    cold = bridge.cold_start(60)
    assert 0 < cold.seconds < 60
    assert cold.memory_bytes > 100 * 2**10  # tini and sleep: some hundreds of KiB
    assert cold.memory_measured == "cgroup memory usage"
    assert len(suite_resources(docker_client, bridge.session)) == 2  # only the long-lived pair


@pytest.mark.fault
def test_missing_image_is_a_clear_unavailability(bench_image: str) -> None:
    p = DockerHostPlatform(new_session_id(), PORTS, DockerSettings(image="triptych/nope:0"))
    with (
        pytest.raises(PlatformUnavailable, match=r"image triptych/nope:0 is not on this engine"),
        p,
    ):
        pass


@pytest.mark.fault
def test_user_image_without_tools_is_refused(
    bench_image: str, docker_client: docker.DockerClient
) -> None:
    # An image of the user's own that lacks two tools, made locally from ours (no registry).
    c = docker_client.containers.run(
        bench_image, ["rm", "-f", "/usr/bin/fio", "/usr/bin/sockperf"], detach=True
    )
    c.wait()
    c.commit(repository="triptych-test/notools", tag="1")
    c.remove(force=True)
    try:
        settings = DockerSettings(image="triptych-test/notools:1")
        p = DockerHostPlatform(new_session_id(), PORTS, settings)
        with pytest.raises(PlatformUnavailable, match=r"lacks fio, sockperf; install them"), p:
            pass
        assert suite_resources(docker_client, p.session) == []
    finally:
        docker_client.images.remove("triptych-test/notools:1", force=True)


def test_clean_removes_only_labelled(bench_image: str, docker_client: docker.DockerClient) -> None:
    session, live = new_session_id(), new_session_id()
    running = DockerHostPlatform(live, PORTS, DockerSettings())  # a live run's: never touched
    running.start()  # first: its start sweeps what dead runs left
    # What a run killed by SIGKILL leaves: its owner is provably dead.
    crashed(
        "from triptych.platforms.docker import DockerHostPlatform\n"
        "from triptych.platforms.settings import DockerSettings\n"
        "from triptych.workloads.registry import SERVER_PORTS\n"
        f"DockerHostPlatform({session!r}, SERVER_PORTS, DockerSettings()).start()"
    )
    stranger = docker_client.containers.run(bench_image, ["sleep", "600"], detach=True, init=True)
    try:
        removed = clean_docker()
        assert any(session in r for r in removed)
        assert not any(live in r for r in removed)
        assert suite_resources(docker_client, session) == []
        assert suite_resources(docker_client, live) != []
        stranger.reload()
        assert stranger.status == "running"
    finally:
        running.stop()
        stranger.remove(force=True)


@pytest.mark.fault
def test_docker_down_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    p = DockerBridgePlatform(new_session_id(), PORTS, DockerSettings())
    with (
        pytest.raises(
            PlatformUnavailable, match=r"Docker engine not reachable .*scripts/daemons.sh start"
        ),
        p,
    ):
        pass


def test_listening_server_is_reachable_on_published(bridge: DockerBridgePlatform) -> None:
    server = bridge.spawn_service(["iperf3", "-s", "-p", "15202"])
    e = bridge.endpoint(15202, "published")
    wait_for_listen(bridge, 15202, 30, server)
    with socket.create_connection((e.host, e.port), timeout=5):
        pass
    server.stop()
