"""What runs that died left behind is removed by the next run, and nothing else is."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import libvirt
import psutil
import pytest
from docker.models.containers import Container
from docker.models.volumes import Volume

from triptych.platforms.docker_sweep import LABEL, MANAGED_LABEL, OWNER_LABEL, sweep_docker
from triptych.platforms.host_sweep import OWNER_ENV, SESSION_ENV, sweep_host
from triptych.platforms.host_sweep import OWNER_FILE as HOST_OWNER_FILE
from triptych.platforms.libvirt_sweep import OWNER_FILE, SESSIONS_DIR, sweep_libvirt
from triptych.platforms.vm_xml import network_xml, session_subnet
from triptych.session import (
    NAME_PREFIX,
    new_session_id,
    owner,
    owner_dead,
)

HOST = socket.gethostname()


def owner_of(proc: subprocess.Popen[bytes]) -> str:
    return f"{HOST}:{proc.pid}:{psutil.Process(proc.pid).create_time():.0f}"


@pytest.fixture
def live_owner() -> Iterator[str]:
    """The owner string of a process that runs for the whole test."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield owner_of(proc)
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def dead_owner() -> str:
    """The owner string of a process that has exited."""
    proc = subprocess.Popen(["sleep", "600"])
    value = owner_of(proc)
    proc.kill()
    proc.wait()
    return value


def test_owner_dead(live_owner: str, dead_owner: str) -> None:
    assert not owner_dead(owner())  # this process
    assert not owner_dead(live_owner)
    assert owner_dead(dead_owner)
    _, pid, start = live_owner.split(":")
    assert owner_dead(f"{HOST}:{pid}:{int(start) - 100}")  # its pid, reused by another process
    assert not owner_dead(f"other-{HOST}:{dead_owner.split(':', 1)[1]}")  # not ours to judge
    for garbage in ("", "x", f"{HOST}:pid:start", "a:b"):
        assert not owner_dead(garbage)


@pytest.mark.docker
def test_docker_sweep_removes_only_what_dead_runs_left(
    bench_image: str, docker_client: docker.DockerClient, live_owner: str, dead_owner: str
) -> None:
    session = new_session_id()
    made: list[Container | Volume] = []
    owners = {
        "dead": dead_owner,
        "live": live_owner,
        "remote": f"other-{HOST}:1:1",
        "legacy": None,  # made by a suite before owners were recorded
    }
    try:
        for name, who in owners.items():
            labels = {LABEL: session, MANAGED_LABEL: "1"}
            if who is not None:
                labels[OWNER_LABEL] = who
            full = f"{NAME_PREFIX}{session}-{name}"
            made.append(docker_client.volumes.create(name=full, labels=labels))
            made.append(
                docker_client.containers.create(bench_image, ["true"], name=full, labels=labels)
            )
        stranger = f"stranger-{session}"
        made.append(docker_client.containers.create(bench_image, ["true"], name=stranger))
        removed = [r for r in sweep_docker(docker_client, stale_only=True) if session in r]
        assert sorted(removed) == [
            f"container {NAME_PREFIX}{session}-dead",
            f"volume {NAME_PREFIX}{session}-dead",
        ]
        left = {c.name for c in docker_client.containers.list(all=True) if session in str(c.name)}
        assert left == {f"{NAME_PREFIX}{session}-{n}" for n in ("live", "remote", "legacy")} | {
            stranger
        }
    finally:
        for obj in made:
            with contextlib.suppress(docker.errors.NotFound):
                obj.remove(force=True)


@pytest.mark.vm
def test_libvirt_sweep_removes_only_what_dead_runs_left(
    conn: libvirt.virConnect, live_owner: str, dead_owner: str
) -> None:
    sessions = {"dead": new_session_id(), "live": new_session_id()}
    nets = {}
    try:
        for kind, session in sessions.items():
            d = SESSIONS_DIR / f"{NAME_PREFIX}{session}"
            d.mkdir(parents=True)
            (d / OWNER_FILE).write_text(dead_owner if kind == "dead" else live_owner)
            bridge = "tt" + hashlib.sha256(session.encode()).hexdigest()[:10]
            nets[kind] = conn.networkCreateXML(
                network_xml(f"{NAME_PREFIX}{session}", bridge, session_subnet(session))
            )
        removed = sweep_libvirt(conn, stale_only=True)
        dead = f"{NAME_PREFIX}{sessions['dead']}"
        assert f"network {dead}" in removed
        assert f"guest disks {SESSIONS_DIR / dead}" in removed
        assert not any(sessions["live"] in r for r in removed), removed
        names = {n.name() for n in conn.listAllNetworks(0)}
        assert dead not in names
        assert f"{NAME_PREFIX}{sessions['live']}" in names
        assert (SESSIONS_DIR / f"{NAME_PREFIX}{sessions['live']}" / OWNER_FILE).exists()
    finally:
        for session in sessions.values():
            sweep_libvirt(conn, session)


def _marked_sleep(owner_value: str, session: str) -> subprocess.Popen[bytes]:
    """A stand-in for a host server a run started: a real process carrying the run's marks,
    in a process group of its own (a child shares it, as PostgreSQL's backends do)."""
    env = {"PATH": "/usr/bin:/bin", OWNER_ENV: owner_value, SESSION_ENV: session}
    return subprocess.Popen(
        ["sh", "-c", "sleep 600 & sleep 600; wait"], env=env, start_new_session=True
    )


def test_host_sweep_kills_only_servers_and_directories_of_dead_runs(
    tmp_path: Path, live_owner: str, dead_owner: str
) -> None:
    dead = _marked_sleep(dead_owner, "dead-session")
    live = _marked_sleep(live_owner, "live-session")
    for session, who in (("dead-session", dead_owner), ("live-session", live_owner), ("old", "")):
        d = tmp_path / f"{NAME_PREFIX}{session}-x"
        d.mkdir()
        if who:
            (d / HOST_OWNER_FILE).write_text(who + "\n")
    try:
        time.sleep(0.3)  # the child sleeps exist
        dead_group = [p.pid for p in psutil.process_iter() if _pgid(p.pid) == dead.pid]
        assert len(dead_group) >= 2  # the shell and its sleeps
        removed = sweep_host(tmp_path, stale_only=True)
        assert dead.wait(timeout=10) == -9
        assert all(not psutil.pid_exists(pid) or _zombie(pid) for pid in dead_group)
        assert live.poll() is None
        assert f"path {tmp_path / (NAME_PREFIX + 'dead-session-x')}" in removed
        left = sorted(p.name for p in tmp_path.iterdir())
        # A live run's directory and one with no owner to ask (an older triptych's) are kept.
        assert left == [f"{NAME_PREFIX}live-session-x", f"{NAME_PREFIX}old-x"]
        # `triptych clean --session` takes one session's, live or not.
        sweep_host(tmp_path, session="live-session")
        assert live.wait(timeout=10) == -9
        assert sorted(p.name for p in tmp_path.iterdir()) == [f"{NAME_PREFIX}old-x"]
    finally:
        for p in (dead, live):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return -1


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
