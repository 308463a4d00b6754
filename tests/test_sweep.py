"""What runs that died left behind is removed by the next run, and nothing else is."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
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
from triptych.platforms.host_sweep import OWNER_ENV, SESSION_ENV, client_dir, sweep_host
from triptych.platforms.host_sweep import OWNER_FILE as HOST_OWNER_FILE
from triptych.platforms.libvirt_sweep import OWNER_FILE, SESSIONS_DIR, sweep_libvirt
from triptych.platforms.vm_xml import network_xml, session_subnet
from triptych.service_user import SERVICE_UID
from triptych.session import (
    NAME_PREFIX,
    new_session_id,
    owner,
    owner_dead,
)

HOST = socket.gethostname()


def owner_of(proc: subprocess.Popen[bytes]) -> str:
    """A process's owner mark, written out by hand: host, boot id, pid, start in clock ticks."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    stat = Path(f"/proc/{proc.pid}/stat").read_text()
    ticks = stat[stat.rindex(")") + 2 :].split()[19]
    return f"{HOST}:{boot}:{proc.pid}:{ticks}"


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
    host, boot, pid, ticks = live_owner.split(":")
    assert owner_dead(f"{host}:{boot}:{pid}:{int(ticks) - 1}")  # its pid, reused by another
    assert owner_dead(f"{host}:00000000-0000-4000-8000-000000000000:{pid}:{ticks}")  # a boot ago
    assert not owner_dead(f"other-{live_owner}")  # another host's: not ours to judge
    assert not owner_dead(f"other-{dead_owner}")
    # An older triptych's mark (a wall-clock start time): not provably dead, kept.
    assert not owner_dead(f"{HOST}:{dead_owner.split(':')[2]}:1700000000")
    for garbage in ("", "x", f"{HOST}:pid:start", "a:b", f"{HOST}:{boot}:-1:5", f"{HOST}:{boot}::"):
        assert not owner_dead(garbage)


def test_owner_identity_is_the_boot_and_the_start_in_clock_ticks() -> None:
    """Not the wall clock (psutil's create_time, the old mark): a clock step cannot make a live
    owner look dead, and a reboot makes every earlier owner dead."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    stat = Path(f"/proc/{os.getpid()}/stat").read_text()
    ticks = stat[stat.rindex(")") + 2 :].split()[19]
    assert owner() == f"{HOST}:{boot}:{os.getpid()}:{ticks}"


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
        removed = [r for r in sweep_docker(docker_client) if session in r]
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
    # A user's own networks whose names start like ours: one persistent, one transient without
    # a session directory. Neither carries our owner mark, so neither is ours to remove.
    lab = f"{NAME_PREFIX}lab-{sessions['dead'][-6:]}"
    lookalike = f"{NAME_PREFIX}{new_session_id()}"
    try:
        for kind, session in sessions.items():
            d = SESSIONS_DIR / f"{NAME_PREFIX}{session}"
            d.mkdir(parents=True)
            (d / OWNER_FILE).write_text(dead_owner if kind == "dead" else live_owner)
            nets[kind] = conn.networkCreateXML(
                network_xml(f"{NAME_PREFIX}{session}", _bridge(session), session_subnet(session))
            )
        nets["lab"] = conn.networkDefineXML(network_xml(lab, _bridge(lab), session_subnet(lab)))
        nets["lookalike"] = conn.networkCreateXML(
            network_xml(lookalike, _bridge(lookalike), session_subnet(lookalike))
        )
        removed = sweep_libvirt(conn)
        dead = f"{NAME_PREFIX}{sessions['dead']}"
        assert f"network {dead}" in removed
        assert f"guest disks {SESSIONS_DIR / dead}" in removed
        assert not any(sessions["live"] in r for r in removed), removed
        names = {n.name() for n in conn.listAllNetworks(0)}
        assert dead not in names
        assert {f"{NAME_PREFIX}{sessions['live']}", lab, lookalike} <= names
        assert (SESSIONS_DIR / f"{NAME_PREFIX}{sessions['live']}" / OWNER_FILE).exists()
    finally:
        for net in nets.values():
            with contextlib.suppress(libvirt.libvirtError):
                if net.isActive():
                    net.destroy()
            with contextlib.suppress(libvirt.libvirtError):
                net.undefine()
        for session in sessions.values():
            shutil.rmtree(SESSIONS_DIR / f"{NAME_PREFIX}{session}", ignore_errors=True)


def _bridge(name: str) -> str:
    return "tt" + hashlib.sha256(name.encode()).hexdigest()[:10]


def _marked_sleep(
    owner_value: str, session: str, as_user: int | None = SERVICE_UID, lead: bool = True
) -> subprocess.Popen[bytes]:
    """A stand-in for a host server a run started: a real process carrying the run's marks, as
    the service user, in a process group of its own (a child shares it, as PostgreSQL's
    backends do). `as_user=None` runs it as root, `lead=False` in the test's own group."""
    env = {"PATH": "/usr/bin:/bin", OWNER_ENV: owner_value, SESSION_ENV: session}
    argv = ["sh", "-c", "sleep 600 & sleep 600; wait"]
    if as_user is not None:
        argv = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *argv]
    return subprocess.Popen(argv, env=env, start_new_session=lead)


def test_host_sweep_kills_only_servers_and_directories_of_dead_runs(
    tmp_path: Path, live_owner: str, dead_owner: str
) -> None:
    dead_s, live_s, other_s = new_session_id(), new_session_id(), new_session_id()
    dead = _marked_sleep(dead_owner, dead_s)
    live = _marked_sleep(live_owner, live_s)
    # Marked with a dead owner, but as root / not leading its group: never the suite's server.
    as_root = _marked_sleep(dead_owner, dead_s, as_user=None)
    follower = _marked_sleep(dead_owner, dead_s, lead=False)
    for session, who in ((dead_s, dead_owner), (live_s, live_owner), (other_s, "")):
        d = tmp_path / f"{NAME_PREFIX}{session}-x"
        d.mkdir()
        if who:
            (d / HOST_OWNER_FILE).write_text(who + "\n")
    link = tmp_path / f"{NAME_PREFIX}{new_session_id()}-link"
    link.symlink_to(tmp_path / f"{NAME_PREFIX}{dead_s}-x")
    try:
        time.sleep(0.3)  # the child sleeps exist
        dead_group = [p.pid for p in psutil.process_iter() if _pgid(p.pid) == dead.pid]
        assert len(dead_group) >= 2  # the shell and its sleeps
        removed = sweep_host(tmp_path)
        assert dead.wait(timeout=10) == -9
        assert all(not psutil.pid_exists(pid) or _zombie(pid) for pid in dead_group)
        for kept in (live, as_root, follower):
            assert kept.poll() is None
        assert f"path {tmp_path / (NAME_PREFIX + dead_s + '-x')}" in removed
        left = sorted(p.name for p in tmp_path.iterdir())
        # A live run's directory, one with no owner file, and a link are kept.
        assert left == sorted([f"{NAME_PREFIX}{live_s}-x", f"{NAME_PREFIX}{other_s}-x", link.name])
        # `triptych clean --session` of a live session removes nothing of it.
        assert sweep_host(tmp_path, session=live_s) == []
        assert live.poll() is None
    finally:
        for p in (dead, live, as_root):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        for child in psutil.Process(follower.pid).children(recursive=True):
            child.kill()
        follower.kill()
        follower.wait()


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


def test_a_killed_runs_client_directory_is_swept(live_owner: str, dead_owner: str) -> None:
    """A load generator's directory (PostgreSQL's holds a password file) is named and marked
    like a scratch directory, in the system's temporary directory: a run killed before its
    cleanup leaves it, the next sweep removes it, a live run's is kept."""
    dead_s, live_s = new_session_id(), new_session_id()
    dead = client_dir(f"{NAME_PREFIX}{dead_s}", "postgres")
    live = client_dir(f"{NAME_PREFIX}{live_s}", "postgres")
    try:
        assert dead.parent == Path(tempfile.gettempdir())
        assert stat.S_IMODE(dead.stat().st_mode) == 0o700
        (dead / HOST_OWNER_FILE).write_text(dead_owner + "\n")
        (live / HOST_OWNER_FILE).write_text(live_owner + "\n")
        (dead / "pgpass").write_text("secret")
        removed = sweep_host(Path(tempfile.gettempdir()) / "no-scratch-here")
        assert f"path {dead}" in removed
        assert not dead.exists()
        assert live.exists()
    finally:
        shutil.rmtree(dead, ignore_errors=True)
        shutil.rmtree(live, ignore_errors=True)
