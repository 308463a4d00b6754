"""The services against the real engines: each server runs as the unprivileged service user on
the platform's primary disk, goes with its case, says why when it cannot start, and nothing of it
outlives a run that is interrupted or killed (once the next run has started)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.intruder import intruder
from tests.leftovers import suite_resources
from tests.suite_run import run_suite, run_until_case, suite_env
from triptych.errors import TriptychError
from triptych.platforms.base import Platform
from triptych.platforms.docker import DockerBridgePlatform
from triptych.platforms.host import HostPlatform
from triptych.platforms.host_sweep import OWNER_ENV, SESSION_ENV, marked_processes
from triptych.platforms.settings import DockerSettings
from triptych.results.load import load_runs
from triptych.service_user import SERVICE_UID
from triptych.session import new_session_id
from triptych.workloads.base import RunSpec
from triptych.workloads.network import Iperf3Params, Iperf3Tcp, SockperfParams, SockperfPingPong
from triptych.workloads.nginx import NginxParams, NginxWrk
from triptych.workloads.placement import APART_FROM
from triptych.workloads.postgres import PG_BIN, Pgbench, PgbenchParams
from triptych.workloads.redis import RedisBenchmark, RedisParams
from triptych.workloads.registry import SERVER_PORTS

SPEC = RunSpec(duration=1, timeout=120)
# Where a client runs against its server on this machine (fewer than 4 CPUs: sharing them).
PLACED = "shared" if len(os.sched_getaffinity(0)) < APART_FROM else "apart"


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A host scratch root the service user can reach, as /var/tmp/triptych is (pytest's own
    temporary directories are root's alone)."""
    root = Path(tempfile.mkdtemp(prefix="triptych-test-services-", dir="/var/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def platform_named(name: str, scratch: Path) -> Iterator[Platform]:
    if name == "host":
        with HostPlatform(new_session_id(), scratch) as host:
            yield host
    else:
        with DockerBridgePlatform(new_session_id(), SERVER_PORTS, DockerSettings()) as bridge:
            yield bridge


def listeners(port: int) -> list[psutil.Process]:
    """Processes (on the host or in its containers: all are the host's) named as our servers
    whose command line holds the port."""
    found = []
    for p in psutil.process_iter(["name", "cmdline", "uids"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["name"] in ("postgres", "redis-server") and str(port) in cmd:
            found.append(p)
    return found


@pytest.mark.parametrize("where", ["host", pytest.param("docker-bridge", marks=pytest.mark.docker)])
def test_postgres_runs_as_the_service_user_on_the_primary_disk_and_goes(
    where: str, scratch: Path, request: pytest.FixtureRequest
) -> None:
    if where != "host":
        request.getfixturevalue("bench_image")
    with platform_named(where, scratch) as platform:
        variant = platform.network_variants[0]
        w = Pgbench(PgbenchParams(connections=2), SPEC)
        w.prepare(platform, variant)
        try:
            servers = listeners(w.port)
            assert servers, "no postgres server found"
            assert {p.info["uids"].real for p in servers} == {SERVICE_UID}
            disk = platform.scratch(platform.disk_variants[0]).path
            pg_version = f"{disk}/services/postgres/data/PG_VERSION"
            assert (
                platform.execute_as_service(["cat", pg_version], 30).check(where).stdout == "15\n"
            )
            samples = {s.metric: s for s in w.measure(platform, variant)}
            assert samples["transaction rate"].value > 0
            assert samples["latency p99"].value >= samples["latency p50"].value > 0
            assert w.client_placement() == PLACED
        finally:
            w.cleanup(platform, variant)
        assert listeners(w.port) == []
        gone = platform.execute(["test", "-e", f"{disk}/services/postgres"], 30)
        assert gone.returncode == 1


def refusal_of(service: type[RedisBenchmark], scratch: Path) -> str:
    """The one-line error a Redis-like service's prepare on the host ends in."""
    with HostPlatform(new_session_id(), scratch) as host:
        w = service(RedisParams(), SPEC)
        with pytest.raises(TriptychError) as err:
            w.prepare(host, "loopback")
        w.cleanup(host, "loopback")
    message = str(err.value)
    assert "\n" not in message
    return message


def test_a_server_that_cannot_start_says_why_with_its_own_last_log_line(scratch: Path) -> None:
    class Unbindable(RedisBenchmark):
        def server_argv(self, platform: Platform, directory: str) -> list[str]:
            argv = super().server_argv(platform, directory)
            # TEST-NET-1 (RFC 5737) is on no interface here: redis cannot bind it, and says so.
            return [
                *argv[: argv.index("--bind") + 1],
                "192.0.2.1",
                *argv[argv.index("--bind") + 2 :],
            ]

    message = refusal_of(Unbindable, scratch)
    assert message.startswith(
        "redis-benchmark server on host: server for port 16379 on host exited"
    )
    assert "its last log line:" in message
    assert "Cannot assign requested address" in message or "Failed listening" in message


def test_a_port_in_use_is_refused_in_one_line(scratch: Path) -> None:
    with socket.socket() as squatter, HostPlatform(new_session_id(), scratch) as host:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", NginxWrk.port))
        squatter.listen()
        w = NginxWrk(NginxParams(), SPEC)
        with pytest.raises(
            TriptychError, match=r"port 18080 on host is already in use, so the wrk"
        ):
            w.prepare(host, "loopback")
        w.cleanup(host, "loopback")


SERVICES = """
[scenario]
name = "svc"
platforms = {platforms}
rounds = 1
duration = 1
warmup = 0
timeout = 300

[[case]]
name = "first"
workload = "redis"
params = {{ connections = 2 }}
"""
LONG = """
[[case]]
name = "long"
workload = "postgres"
platforms = {long_on}
duration = 120
params = {{ connections = 2 }}
"""


def marked_host_servers() -> list[psutil.Process]:
    return [p for p, _ in marked_processes()]


@pytest.mark.slow
@pytest.mark.fault
@pytest.mark.docker
def test_sigint_mid_service_case_leaves_nothing(tmp_path: Path, bench_image: str) -> None:
    scenario = (SERVICES + LONG).format(
        platforms=["host", "docker-bridge"], long_on=["docker-bridge", "host"]
    )
    proc, _ = run_until_case(
        tmp_path, scenario, "--benchmark-save=s", "--triptych-order=scenario",
        case="svc/first/docker-bridge/published", wait=300, settle=6,
    )  # fmt: skip
    assert listeners(15432), "the long postgres case was not running when interrupted"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out[-2000:]
    runs = load_runs([tmp_path / ".benchmarks"])
    assert "first" in set(runs.samples.case)  # finished cases are kept
    assert listeners(15432) == []  # and the fixture checks that nothing else is left


@pytest.mark.slow
@pytest.mark.fault
@pytest.mark.docker
def test_sigkill_mid_service_case_then_the_next_run_leaves_nothing(
    tmp_path: Path, bench_image: str
) -> None:
    """The host's server outlives a killed run until the next run's sweep; the container with
    its servers is swept as well. (A guest's servers die with the guest: a killed run's guest is
    swept by the same code, tested in test_vm_platform and test_faults.)"""
    platforms = ["host", "docker-bridge"]
    scenario = (SERVICES + LONG).format(platforms=platforms, long_on=["host"])
    killed = tmp_path / "killed"
    killed.mkdir()
    proc, _ = run_until_case(
        killed, scenario, "--benchmark-save=k", "--triptych-order=scenario",
        case="svc/first/docker-bridge/published", wait=600, settle=8,
    )  # fmt: skip
    assert marked_host_servers(), "the host's postgres was not running when killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    left = suite_resources()
    assert any(r.startswith("container ") for r in left), left
    # The next run, on the same platforms, removes what the killed one left, and leaves nothing.
    after = tmp_path / "after"
    after.mkdir()
    result = run_suite(
        after,
        SERVICES.format(platforms=platforms),
        "--benchmark-save=a",
        env=suite_env(TRIPTYCH_REQUIRE_PLATFORMS="all"),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "left by runs that died" in result.stdout
    assert marked_host_servers() == []


def test_a_scratch_root_the_service_user_cannot_reach_is_named(tmp_path: Path) -> None:
    unreachable = r"the service user \(uid 65534\) cannot reach"
    # tmp_path is under pytest's own 0700 directory: root's alone.
    with (
        HostPlatform(new_session_id(), tmp_path / "scratch") as host,
        pytest.raises(TriptychError, match=unreachable),
    ):
        RedisBenchmark(RedisParams(), SPEC).prepare(host, "loopback")


SECRET = "postgresql://nightly:hunter2-not-for-servers@store.example/triptych"  # noqa: S105 - bait


def _environ(p: psutil.Process) -> dict[str, str]:
    return {k: v for k, v in p.environ().items()}


@pytest.mark.parametrize("where", ["host", pytest.param("docker-bridge", marks=pytest.mark.docker)])
def test_postgres_over_tcp_asks_every_client_for_the_cases_password(
    where: str, scratch: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never `trust` over TCP: a local user connecting as the superuser is refused (the old
    pg_hba let anyone in, and `COPY ... TO PROGRAM 'env'` then read the run's secrets). The
    password is made where the server runs and is on no command line; the servers hold nothing
    of the caller's environment."""
    if where != "host":
        request.getfixturevalue("bench_image")
    monkeypatch.setenv("TRIPTYCH_STORE", SECRET)
    with platform_named(where, scratch) as platform, intruder() as bad:
        variant = platform.network_variants[0]
        w = Pgbench(PgbenchParams(connections=1), SPEC)
        w.prepare(platform, variant)
        try:
            endpoint = platform.endpoint(w.port, variant)
            psql = [f"{PG_BIN}/psql", "-h", endpoint.host, "-p", str(endpoint.port), "-U", "bench",
                    "-w", "-c", "SELECT 1", "postgres"]  # fmt: skip
            refused = bad.run(*psql)
            assert refused.returncode != 0
            assert "password" in refused.stderr, refused.stderr
            for server in listeners(w.port):
                assert "TRIPTYCH_STORE" not in _environ(server)
                assert not any(w._password in part for part in server.cmdline())
            # The case's own client, with its password file, gets in.
            assert w.measure(platform, variant)
        finally:
            w.cleanup(platform, variant)


def test_every_host_server_runs_as_the_service_user_in_a_clean_environment(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIPTYCH_STORE", SECRET)
    with HostPlatform(new_session_id(), scratch) as host:
        for w in (Iperf3Tcp(Iperf3Params(), SPEC), SockperfPingPong(SockperfParams(), SPEC)):
            w.prepare(host, "loopback")
            try:
                (server,) = [p for p, _ in marked_processes() if p.name() in ("iperf3", "sockperf")]
                assert server.uids().real == SERVICE_UID
                env = _environ(server)
                assert set(env) == {"PATH", "LANG", "HOME", OWNER_ENV, SESSION_ENV}, env
                # Placed like the services: the round says where its client ran.
                assert w.client_placement() == PLACED
                (first, *_) = w.measure(host, "loopback")
                assert (first.metadata["client_cpus"] == "any") == (PLACED == "shared")
            finally:
                w.cleanup(host, "loopback")


def test_a_server_that_listens_but_answers_no_request_is_not_ready(scratch: Path) -> None:
    """Ready means a real client request succeeded, not that a port listens (PostgreSQL under
    emulation listens while it still refuses connections)."""

    class Mute(RedisBenchmark):
        ready_timeout = 3.0

        def server_argv(self, platform: Platform, directory: str) -> list[str]:
            # Listens on redis's port, but speaks HTTP: redis-cli's PING gets no PONG.
            return ["python3", "-m", "http.server", "--bind", "127.0.0.1", str(self.port)]

    message = refusal_of(Mute, scratch)
    assert message.startswith(
        "redis-benchmark server on host: it listened on port 16379 but answered no client "
        "request within 3 s (last: "
    ), message
