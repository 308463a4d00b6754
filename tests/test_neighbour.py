"""Isolation (workloads/neighbour.py) on the real host, Docker engine and a guest: a victim
alone and beside an aggressor, placed on one CPU or two, and the neighbour removed after.

The bounds are the scheduler's arithmetic, not speed targets: two busy processes confined to
one CPU get about half of it each (a slowdown near 2x, well above 1.4x), and with a CPU each
neither waits for the other (far less than on one). Guests under emulation are noisier a
round, and are judged over several (GUEST_ROUNDS)."""

from __future__ import annotations

import os
import statistics
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import libvirt
import psutil
import pytest

from tests.test_docker_platform import suite_resources
from tests.test_vm_platform import SMALL, suite_objects
from triptych.errors import NotApplicable, TriptychError
from triptych.images import RootfsRecipe
from triptych.platforms import cgroups
from triptych.platforms.base import Platform
from triptych.platforms.catalog import CGROUP, KINDS
from triptych.platforms.cgroups import Limits
from triptych.platforms.docker import DockerBridgePlatform, DockerHostPlatform
from triptych.platforms.docker_instance import DockerInstance
from triptych.platforms.host import HostPlatform
from triptych.platforms.settings import DockerSettings
from triptych.platforms.vm import GuestInstance, VmPlatform
from triptych.sample import Sample
from triptych.service_user import SERVICE_UID
from triptych.session import new_session_id
from triptych.vm_image import guest_boot
from triptych.workloads.aggressor import (
    FLOOD_PORT,
    PATH_FLOOD,
    PIDFILE,
    aggressor_argv,
    path_client_argv,
    unprivileged,
)
from triptych.workloads.base import RunSpec
from triptych.workloads.disk import FILE_NAME
from triptych.workloads.neighbour import (
    SLOWDOWN,
    HostProcess,
    Neighbour,
    NeighbourParams,
    alone_metric,
    beside_metric,
    placement,
)
from triptych.workloads.network import SOCKPERF_PORT

SPEC = RunSpec(3.0, 120.0)
# Two guests on one CPU under emulation (TCG), one 4-s round pair at a time, measured on this
# machine (2026-12-08): slowdowns 1.60, 2.26, 0.95, 1.43, 2.32, 1.85 (a single round fell under
# 1.4 in CI), and on two CPUs ('apart', the placement bug this test would miss) 1.21, 0.99,
# 1.10, 1.13, 1.11, 0.70. On the log scale, sd 0.34 and 0.19 a round: the geometric mean of 8
# rounds against 1.2 fails a right placement about 0.4% of the time (z 2.7) and passes two CPUs
# about 1% (z 2.3). The idle neighbour guest itself takes much of the shared CPU under TCG
# (the victim alone: 275-433 events/s beside it on one CPU, 468-649 apart), hence under 2x.
GUEST_ROUNDS = 8
GUEST_BOUND = 1.2
TWO_CPUS = len(os.sched_getaffinity(0)) >= 2


def _round(n: Neighbour, platform: Platform, variant: str = "default") -> dict[str, Sample]:
    n.prepare(platform, variant)
    try:
        return {s.metric: s for s in n.measure(platform, variant)}
    finally:
        n.cleanup(platform, variant)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[HostPlatform]:
    with HostPlatform(new_session_id(), tmp_path / "scratch") as p:
        yield p


@pytest.mark.parametrize(
    "hostile",
    [b"1\n", str(os.getppid()).encode(), str(os.getpid()).encode(), b"-1", b"x", b"\xff\xfe", b""],
)
def test_a_pid_file_naming_a_process_not_ours_counts_nothing(
    host: HostPlatform, hostile: bytes
) -> None:
    """The host's neighbour is found by its pid file: one naming init, our parent, ourselves
    or nothing at all is never believed (its CPU would be read as the aggressor's)."""
    neighbour = HostProcess(host)
    (Path(neighbour.work_dir) / PIDFILE).write_bytes(hostile)
    assert neighbour.host_pids() == []


def test_a_pid_file_naming_our_own_child_is_believed(host: HostPlatform) -> None:
    neighbour = HostProcess(host)
    child = subprocess.Popen(["sleep", "30"])
    try:
        (Path(neighbour.work_dir) / PIDFILE).write_text(f"{child.pid}\n")
        assert neighbour.host_pids() == [child.pid]
    finally:
        child.kill()
        child.wait()
    assert neighbour.host_pids() == []  # gone, and reaped
    assert neighbour.remove()
    assert not (Path(neighbour.work_dir) / PIDFILE).exists()


def test_aggressor_commands_are_argv_lists() -> None:
    assert aggressor_argv("cpu", 2, 7, "/x") == [
        "stress-ng", "--cpu", "2", "--timeout", "7s", "--quiet",
    ]  # fmt: skip
    disk = aggressor_argv("disk", 1, 7, "/var/tmp")
    assert disk[0] == "fio"
    assert "--directory=/var/tmp" in disk
    assert "--runtime=7" in disk


@pytest.mark.skipif(not TWO_CPUS, reason="needs two CPUs")
def test_placement_on_one_cpu_or_two(host: HostPlatform) -> None:
    first = min(os.sched_getaffinity(0))
    assert placement(host, "same") == ((first,), (first,))
    victim, aggressor = placement(host, "other")
    assert victim == (first,)
    assert aggressor != victim
    assert len(aggressor) == 1


def _groups_of(session: str) -> list[Path]:
    parents = [cgroups.ROOT, *(cgroups.ROOT / c for c in cgroups.V1)]
    return [g for d in parents if d.is_dir() for g in d.iterdir() if session in g.name]


@pytest.mark.slow
def test_cgroup_limits_alone_hold_each_process_to_its_share(tmp_path: Path) -> None:
    """The host's cgroup variant: victim and aggressor each in a group of a quarter CPU, on one
    CPU. Plain, they halve each other (above 1.4x); limited, each gets its quarter whether
    the other runs or not (the victim alone is held to it too), so the slowdown is near 1x."""
    with HostPlatform(new_session_id(), tmp_path / "scratch", Limits(cpus=0.25)) as p:
        plain = _round(Neighbour(NeighbourParams(cpus="same"), SPEC), p)
        n = Neighbour(NeighbourParams(cpus="same"), SPEC)
        n.prepare(p, CGROUP)
        try:
            made = _groups_of(p.session)
            assert len(made) == (6 if cgroups.layout() == "v1" else 2), made
            got = {s.metric: s for s in n.measure(p, CGROUP)}
        finally:
            n.cleanup(p, CGROUP)
        assert _groups_of(p.session) == []
    events = alone_metric("cpu events")
    assert plain[SLOWDOWN].value > 1.4, plain[SLOWDOWN]
    assert got[SLOWDOWN].value < 1.3, got[SLOWDOWN]
    assert got[events].value < 0.5 * plain[events].value, (got[events], plain[events])
    assert got[SLOWDOWN].metadata["cgroup_limits"] == "cpus=0.25 cpuset=none memory=none"
    assert "cgroup_limits" not in plain[SLOWDOWN].metadata


def test_only_a_held_neighbour_is_waited_for_at_its_limit(tmp_path: Path) -> None:
    """The busy threshold scales with the CPUs' worth the aggressor may use: a quarter CPU in
    the host's cgroup row, its whole CPU as a plain process beside the victim (the scenario's
    `[docker] cpus` holds no plain process)."""
    with HostPlatform(new_session_id(), tmp_path / "scratch", Limits(cpus=0.25)) as p:
        for variant, cores in (("default", 1.0), (CGROUP, 0.25)):
            n = Neighbour(NeighbourParams(cpus="same"), SPEC)
            n.prepare(p, variant)
            try:
                assert n._cores(p) == cores, variant
            finally:
                n.cleanup(p, variant)


def test_the_host_runs_the_cgroup_variant_only_where_it_can(
    host: HostPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert KINDS["host"].variants("isolation") == ("default", CGROUP)
    assert KINDS["docker-bridge"].variants("isolation") == ("default",)
    assert host.cannot_run("isolation", "default") is None
    assert host.cannot_run("isolation", CGROUP) is None  # this machine has them
    # A machine without a cgroup hierarchy (an empty /sys/fs/cgroup): skipped, and why.
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    assert host.cannot_run("isolation", CGROUP) == (
        f"no cgroup hierarchy with cpu, cpuset and memory under {tmp_path}"
    )
    assert host.cannot_run("isolation", "default") is None


def test_placement_needs_a_second_cpu_for_other(host: HostPlatform) -> None:
    os_cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(os_cpus)})  # this process may use one CPU only
    try:
        with pytest.raises(NotApplicable, match="second CPU"):
            placement(host, "other")
    finally:
        os.sched_setaffinity(0, os_cpus)


@pytest.mark.slow
@pytest.mark.skipif(not TWO_CPUS, reason="needs two CPUs")
def test_host_processes_share_one_cpu_and_not_two(host: HostPlatform) -> None:
    same = _round(Neighbour(NeighbourParams(cpus="same"), SPEC), host)
    other = _round(Neighbour(NeighbourParams(cpus="other"), SPEC), host)
    assert same[SLOWDOWN].value > 1.4, same[SLOWDOWN]
    assert other[SLOWDOWN].value < same[SLOWDOWN].value, (other[SLOWDOWN], same[SLOWDOWN])
    # The slowdown is the round's own pair, oriented (events/s: higher is better).
    alone, beside = same[alone_metric("cpu events")], same[beside_metric("cpu events")]
    assert same[SLOWDOWN].value == pytest.approx(alone.value / beside.value)
    assert same[SLOWDOWN].metadata["victim_cpus"] == same[SLOWDOWN].metadata["aggressor_cpus"]


@pytest.mark.docker
@pytest.mark.slow
def test_a_container_beside_another_on_its_cpu(
    bench_image: str, docker_client: docker.DockerClient
) -> None:
    with DockerHostPlatform(new_session_id(), (15233,), DockerSettings()) as p:
        own = suite_resources(docker_client, p.session)
        n = Neighbour(NeighbourParams(cpus="same"), SPEC)
        n.prepare(p, "default")
        try:
            (made,) = [c for c in suite_resources(docker_client, p.session) if c not in own]
            # The neighbour is a container of the session's, confined by its cgroup.
            cpuset = docker_client.containers.get(made).attrs["HostConfig"]["CpusetCpus"]
            assert cpuset == str(min(os.sched_getaffinity(0)))
            got = {s.metric: s for s in n.measure(p, "default")}
        finally:
            n.cleanup(p, "default")
        assert got[SLOWDOWN].value > 1.4, got[SLOWDOWN]
        assert suite_resources(docker_client, p.session) == own


@pytest.mark.docker
@pytest.mark.slow
def test_a_network_victim_in_a_container_answers_over_the_bridge(
    bench_image: str, docker_client: docker.DockerClient
) -> None:
    """sockperf's server in the victim's container (confined to the victim's CPU, the
    neighbour's flood on its own loopback beside it); the client on the host reaches it
    through the bridge, as the net-latency case's column does; nothing is left after."""
    with DockerBridgePlatform(new_session_id(), (SOCKPERF_PORT,), DockerSettings()) as p:
        own = suite_resources(docker_client, p.session)
        n = Neighbour(
            NeighbourParams(victim="sockperf-pingpong", aggressor="network", cpus="same"), SPEC
        )
        n.prepare(p, "default")
        try:
            assert n.victim.variant(p) == "bridge-ip"
            got = {s.metric: s for s in n.measure(p, "default")}
        finally:
            n.cleanup(p, "default")
        assert suite_resources(docker_client, p.session) == own
    alone = got[alone_metric("round-trip time p50")]
    beside = got[beside_metric("round-trip time p50")]
    assert got[SLOWDOWN].value == pytest.approx(beside.value / alone.value)
    assert got[SLOWDOWN].metadata["aggressor"] == "network"


@pytest.fixture(scope="class")
def guest(conn: libvirt.virConnect) -> Iterator[VmPlatform]:
    """The victim guest of TestBesideAGuest, gone when its class ends."""
    guest_boot(RootfsRecipe())
    with VmPlatform(new_session_id(), SMALL) as p:
        yield p
    assert suite_objects(conn, p.session) == []


@pytest.mark.vm
@pytest.mark.slow
class TestBesideAGuest:
    """A neighbour guest beside the victim guest: one victim boot serves both (class scope, so
    it is gone before the next test), each test adds and removes its neighbour."""

    def test_a_guest_beside_another_on_its_cpu(
        self, guest: VmPlatform, conn: libvirt.virConnect
    ) -> None:
        n = Neighbour(NeighbourParams(cpus="same"), RunSpec(4.0, 300.0))
        n.prepare(guest, "default")
        try:
            cpu = min(os.sched_getaffinity(0))
            guests = [
                d for d in conn.listAllDomains(0) if d.name().startswith(guest.instance_prefix)
            ]
            assert len(guests) == 2  # its own and the neighbour
            for d in guests:
                pins = d.vcpuPinInfo(0)
                assert all(row[cpu] and sum(row) == 1 for row in pins), (d.name(), pins)
            # Two guests of one tree, each with an address of its own (they once shared the
            # tree's machine-id, and with it DHCP's lease: one address for both).
            assert isinstance(n._neighbour, GuestInstance)
            assert n._neighbour.address() != guest.endpoint(1, "virtio-net").host
            # Under emulation a guest's first run of a program translates it: as the runner
            # does, one run first that is not counted. Then rounds, both orders alike.
            n.measure(guest, "default")
            slowdowns = [
                s.value
                for _ in range(GUEST_ROUNDS)
                for s in n.measure(guest, "default")
                if s.metric == SLOWDOWN
            ]
        finally:
            n.cleanup(guest, "default")
        # One round is no verdict under emulation (see GUEST_ROUNDS): the rounds' geometric
        # mean, the scale the suite's analysis takes them on.
        assert len(slowdowns) == GUEST_ROUNDS
        assert statistics.geometric_mean(slowdowns) > GUEST_BOUND, slowdowns
        # Back as the scenario placed it (unpinned: every CPU), the neighbour gone.
        assert all(all(row) for row in guest._started(guest._guest).domain.vcpuPinInfo(0))
        assert not [n for n in suite_objects(conn, guest.session) if n.endswith("-neighbour")]

    def test_a_path_flood_reaches_the_neighbour_guest_through_its_own_address(
        self, guest: VmPlatform, conn: libvirt.virConnect, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Under a guest the flood's client sends to the neighbour guest's address on the suite's
        network (its virtio device, QEMU's backend), never the victim guest's own."""
        address, got, targets = _path_flood_round(guest, RunSpec(4.0, 300.0), monkeypatch)
        assert address != guest.endpoint(SOCKPERF_PORT, "virtio-net").host
        assert not [x for x in suite_objects(conn, guest.session) if x.endswith("-neighbour")]
        assert targets == [address]
        assert _served_iperf3() == []
        assert got[SLOWDOWN].value > 0


@pytest.mark.slow
def test_an_aggressor_that_ends_at_once_spoils_the_round(
    host: HostPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real process that fails before it does any work (as a missing tool would): the round
    # fails with its exit and last line, rather than a victim "beside" nothing.
    def failing(kind: str, workers: int, seconds: int, work_dir: str) -> list[str]:
        return ["sh", "-c", "echo no such stressor >&2; exit 3"]

    monkeypatch.setattr("triptych.workloads.neighbour.aggressor_argv", failing)
    n = Neighbour(NeighbourParams(cpus="same"), SPEC)
    n.prepare(host, "default")
    try:
        with pytest.raises(TriptychError, match=r"ended before it got busy \(exit 3: no such"):
            n.measure(host, "default")
    finally:
        n.cleanup(host, "default")


@pytest.mark.slow
def test_a_disk_victim_reads_a_file_of_its_own_and_leaves_nothing(host: HostPlatform) -> None:
    """fio's random reads as the victim: its file laid out in the platform's first disk
    variant (as the disk cases' column) before the rounds, its figures named alone and beside,
    the slowdown their pair (IOPS: higher is better), and the file gone after."""
    n = Neighbour(NeighbourParams(victim="fio", aggressor="disk", cpus="same"), SPEC)
    data = Path(host.scratch(host.disk_variants[0]).path) / FILE_NAME
    n.prepare(host, "default")
    try:
        assert data.stat().st_size == 256 * 2**20  # the victim's default size, written
        got = {s.metric: s for s in n.measure(host, "default")}
    finally:
        n.cleanup(host, "default")
    assert not data.exists()
    alone, beside = got[alone_metric("randread IOPS")], got[beside_metric("randread IOPS")]
    assert alone.unit == beside.unit == "IOPS"
    assert got[SLOWDOWN].value == pytest.approx(alone.value / beside.value)
    assert got[SLOWDOWN].metadata["victim"] == "fio"
    assert got[SLOWDOWN].metadata["aggressor"] == "disk"


def test_a_disk_victim_that_does_not_fit_leaves_no_neighbour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The victim's set-up fails last (its file would not fit beside the reserve): prepare
    says so in the fio case's words and removes what it made before (both cgroups)."""
    monkeypatch.setattr("triptych.workloads.disk.RESERVE", 2**60)
    with HostPlatform(new_session_id(), tmp_path / "scratch", Limits(cpus=0.5)) as p:
        n = Neighbour(NeighbourParams(victim="fio", aggressor="disk"), SPEC)
        with pytest.raises(TriptychError, match=r"params.size = '256M' does not fit"):
            n.prepare(p, CGROUP)
        assert _groups_of(p.session) == []
        assert not (Path(p.scratch(p.disk_variants[0]).path) / FILE_NAME).exists()
        n.cleanup(p, CGROUP)  # the runner's cleanup after a failed prepare finds nothing left


@pytest.mark.docker
@pytest.mark.slow
def test_a_container_disk_victim_reads_in_its_own_container(
    bench_image: str, docker_client: docker.DockerClient
) -> None:
    with DockerHostPlatform(new_session_id(), (15234,), DockerSettings()) as p:
        own = suite_resources(docker_client, p.session)
        n = Neighbour(NeighbourParams(victim="fio", aggressor="disk"), RunSpec(2.0, 120.0))
        data = f"{p.scratch(p.disk_variants[0]).path}/triptych-fio.dat"
        n.prepare(p, "default")
        try:
            assert p.execute(["test", "-s", data], 60).returncode == 0
            got = {s.metric: s for s in n.measure(p, "default")}
        finally:
            n.cleanup(p, "default")
        assert p.execute(["test", "-e", data], 60).returncode == 1
        assert suite_resources(docker_client, p.session) == own
    assert got[alone_metric("randread IOPS")].value > 0
    assert got[beside_metric("randread IOPS")].value > 0


def test_the_flood_is_a_fixed_script_and_unprivileged_on_the_host() -> None:
    """The iperf3 flood's values are positional parameters, never text of the script; on the
    host (whose loopback its server listens on) it runs as the service user in a clean
    environment, the pid file written first by root."""
    flood = aggressor_argv("network", 2, 7, "/x")
    assert flood[:2] == ["sh", "-c"]
    assert flood[3:] == ["flood", "15299", "7", "2"]
    assert "127.0.0.1" in flood[2]
    assert "15299" not in flood[2]
    dropped = unprivileged(flood)
    assert dropped[:2] == ["env", "-i"]
    at = dropped.index("setpriv")
    assert all("=" in kv for kv in dropped[2:at])  # only the clean environment's pairs
    assert f"--reuid={SERVICE_UID}" in dropped[at:]
    assert dropped[-len(flood) :] == flood


def _served(name: str) -> list[psutil.Process]:
    """The service user's processes of this name (on the host)."""
    return [
        p
        for p in psutil.process_iter(["name", "uids"])
        if p.info["name"] == name and p.info["uids"] and p.info["uids"].real == SERVICE_UID
    ]


def _served_iperf3() -> list[psutil.Process]:
    return _served("iperf3")


@pytest.mark.slow
def test_a_flood_on_the_victims_cpu_halves_it_and_stops_with_it(
    host: HostPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client and server of the flood busy the victim's one CPU as a CPU aggressor would
    (two busy sides on one CPU: above 1.4x); the service user's iperf3 runs while the victim
    does, and none is left once the round is done."""
    n = Neighbour(NeighbourParams(aggressor="network", cpus="same"), SPEC)
    seen: list[int] = []
    victim_once = n.victim.once

    def watched(platform: Platform, run: RunSpec) -> Sample:
        seen.append(len(_served_iperf3()))
        return victim_once(platform, run)

    monkeypatch.setattr(n.victim, "once", watched)
    got = _round(n, host)
    assert got[SLOWDOWN].value > 1.4, got[SLOWDOWN]
    assert sorted(seen) == [0, 2], seen  # alone: none; beside: its server and its client
    assert _served_iperf3() == []


def _sockperf_servers() -> list[psutil.Process]:
    return _served("sockperf")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["default", CGROUP])
def test_a_network_victims_server_runs_on_the_victims_cpu_and_in_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    """sockperf's ping-pong as the victim: its server (the service user's) runs on the victim's
    CPU, in the host's cgroup row inside the victim's group, beside a CPU aggressor there; its
    client on the host. Its round-trip time alone and beside, and the slowdown between them
    (lower is better: beside over alone); no server is left after."""
    victim_cpu = min(os.sched_getaffinity(0))
    seen: list[tuple[set[int], str]] = []
    with HostPlatform(new_session_id(), tmp_path / "scratch") as p:
        n = Neighbour(NeighbourParams(victim="sockperf-pingpong", cpus="same"), SPEC)
        victim_once = n.victim.once

        def watched(platform: Platform, run: RunSpec) -> Sample:
            (server,) = _sockperf_servers()
            cgroup = Path(f"/proc/{server.pid}/cgroup").read_text()
            seen.append((set(server.cpu_affinity() or []), cgroup))
            return victim_once(platform, run)

        monkeypatch.setattr(n.victim, "once", watched)
        got = _round(n, p, variant)
        assert _groups_of(p.session) == []
    assert _sockperf_servers() == []
    assert [cpus for cpus, _ in seen] == [{victim_cpu}, {victim_cpu}]
    in_group = [f"{p.session}" in cgroup and "-victim" in cgroup for _, cgroup in seen]
    assert in_group == [variant == CGROUP] * 2, seen
    alone = got[alone_metric("round-trip time p50")]
    beside = got[beside_metric("round-trip time p50")]
    assert alone.value > 0
    assert beside.value > 0
    assert not alone.higher_is_better
    assert got[SLOWDOWN].value == pytest.approx(beside.value / alone.value)
    assert got[SLOWDOWN].metadata["victim"] == "sockperf-pingpong"


def test_only_the_host_starts_a_server_inside_a_group(tmp_path: Path) -> None:
    """A group's prefix is the host's alone: a container's or a guest's server is not a host
    process root could place in a host cgroup, and one asked to is refused, not run outside."""
    assert HostPlatform.enters_groups
    assert not DockerHostPlatform.enters_groups
    assert not VmPlatform.enters_groups

    class Elsewhere(HostPlatform):
        enters_groups = False

    with Elsewhere(new_session_id(), tmp_path / "scratch") as p:
        marker = tmp_path / "ran"
        with pytest.raises(TriptychError, match="cannot start inside a host cgroup"):
            p.spawn_service(["touch", str(marker)], enter=("env",))
        assert not marker.exists()


def test_the_path_floods_client_is_a_fixed_script_bounded_and_unprivileged() -> None:
    """The path flood's host client: the address and figures are positional parameters,
    never text of its script; pinned to the aggressor's CPUs, killed after its bound, run as
    the service user (under root's group join first, where one is given)."""
    argv = path_client_argv("10.0.0.7", (1,), 30, 2, enter=("join-prefix", "--"))
    assert argv[:2] == ["join-prefix", "--"]
    at = argv.index("setpriv")
    assert f"--reuid={SERVICE_UID}" in argv[at:]
    rest = argv[argv.index("timeout") :]
    assert rest[:3] == ["timeout", "-s", "KILL"]
    assert float(rest[3].rstrip("s")) > 30  # its bound: the flood and the wait for busy
    assert rest[4:7] == ["taskset", "-c", "1"]
    assert rest[7:9] == ["sh", "-c"]
    assert rest[10:] == ["flood", "10.0.0.7", str(FLOOD_PORT), "30", "2"]
    assert "10.0.0.7" not in rest[9]
    assert aggressor_argv(PATH_FLOOD, 2, 30, "/x") == ["iperf3", "-s", "-1", "-p", str(FLOOD_PORT)]


def _flood_clients() -> list[psutil.Process]:
    """The service user's iperf3 clients of the path flood (on the host)."""
    return [p for p in _served_iperf3() if "-c" in p.cmdline()]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["default", CGROUP])
def test_a_path_flood_sends_from_the_host_to_the_neighbour_and_stops_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    """On the host the path is loopback: the flood's client (the service user's, on the
    aggressor's CPU, in the host's cgroup row inside the neighbour's group) sends to the
    neighbour's server while the victim measures beside it, and neither is left after."""
    seen: list[tuple[list[str], set[int], str]] = []
    with HostPlatform(new_session_id(), tmp_path / "scratch") as p:
        n = Neighbour(
            NeighbourParams(victim="sockperf-pingpong", aggressor=PATH_FLOOD, cpus="same"), SPEC
        )
        victim_once = n.victim.once

        def watched(platform: Platform, run: RunSpec) -> Sample:
            for c in _flood_clients():
                cgroup = Path(f"/proc/{c.pid}/cgroup").read_text()
                seen.append((c.cmdline(), set(c.cpu_affinity() or []), cgroup))
            return victim_once(platform, run)

        monkeypatch.setattr(n.victim, "once", watched)
        got = _round(n, p, variant)
        assert _groups_of(p.session) == []
    assert _served_iperf3() == []
    cpu = min(os.sched_getaffinity(0))
    ((cmdline, cpus, cgroup),) = seen  # one client, beside only
    assert cmdline[cmdline.index("-c") + 1] == "127.0.0.1"
    assert cpus == {cpu}
    assert ("-neighbour" in cgroup) == (variant == CGROUP)
    assert got[SLOWDOWN].metadata["aggressor"] == PATH_FLOOD


def _path_flood_round(
    p: Platform, spec: RunSpec, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, Sample], list[str]]:
    """One round of the sockperf victim beside a path flood: the neighbour's address, the
    round's samples, and where the flood's host clients sent while the victim measured."""
    targets: list[str] = []
    n = Neighbour(
        NeighbourParams(victim="sockperf-pingpong", aggressor=PATH_FLOOD, cpus="same"), spec
    )
    victim_once = n.victim.once

    def watched(platform: Platform, run: RunSpec) -> Sample:
        targets.extend(c.cmdline()[c.cmdline().index("-c") + 1] for c in _flood_clients())
        return victim_once(platform, run)

    monkeypatch.setattr(n.victim, "once", watched)
    n.prepare(p, "default")
    try:
        assert isinstance(n._neighbour, DockerInstance | GuestInstance)
        address = n._neighbour.address()
        return address, {s.metric: s for s in n.measure(p, "default")}, targets
    finally:
        n.cleanup(p, "default")


@pytest.mark.docker
@pytest.mark.slow
def test_a_path_flood_crosses_the_bridge_to_the_neighbour_container(
    bench_image: str, docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the bridge: the client on the host sends to the neighbour container's own address
    (not loopback: the traffic crosses the bridge the victim's round trips cross too)."""
    with DockerBridgePlatform(new_session_id(), (SOCKPERF_PORT,), DockerSettings()) as p:
        own = suite_resources(docker_client, p.session)
        address, got, targets = _path_flood_round(p, SPEC, monkeypatch)
        assert suite_resources(docker_client, p.session) == own
    assert address != "127.0.0.1"
    assert targets == [address]
    assert _served_iperf3() == []
    assert got[SLOWDOWN].value > 0
