"""How the suite marks what it leaves on the host itself, and the sweep that removes it.

A server the host platform starts runs as the service user, leads its own process group, and
carries `TRIPTYCH_OWNER=HOST:BOOT:PID:TICKS` and `TRIPTYCH_SESSION` in an environment that holds
nothing else of the caller's; a host scratch directory holds an owner file. A run killed with
SIGKILL cannot stop them; the next run (or `triptych clean`) finds them by those marks, and
removes them only when their owner is provably dead. A process is killed only if it leads its
group, carries the mark and runs as the service user: a mark copied into another user's process
(or root's) is never enough.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path

import psutil

from triptych.platforms.cgroups import sweep_cgroups
from triptych.process import CLEAN_ENV
from triptych.service_user import SERVICE_UID
from triptych.session import NAME_PREFIX, owner, owner_dead, valid_session

OWNER_ENV = "TRIPTYCH_OWNER"
SESSION_ENV = "TRIPTYCH_SESSION"
OWNER_FILE = ".triptych-owner"
MAX_MARK = 512


def marked_env(session: str) -> dict[str, str]:
    """The environment of a host server this process starts: a clean one, plus its marks."""
    return {**CLEAN_ENV, OWNER_ENV: owner(), SESSION_ENV: session}


def claim_dir(path: Path, name: str = OWNER_FILE) -> None:
    """Mark a directory this process made as its own (an owner file no one else wrote)."""
    fd = os.open(path / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(owner() + "\n")


def _chosen(marks: dict[str, str], session: str | None) -> bool:
    if session is not None and marks.get(SESSION_ENV) != session:
        return False
    return owner_dead(marks.get(OWNER_ENV, ""))


def marked_processes() -> list[tuple[psutil.Process, dict[str, str]]]:
    """Every host process carrying the suite's marks, with its environment (not this one)."""
    found = []
    for p in psutil.process_iter(["pid", "name"]):
        try:
            env = p.environ()
        except (psutil.Error, OSError):
            continue
        if OWNER_ENV in env and p.pid != os.getpid():
            found.append((p, env))
    return found


def _ours(p: psutil.Process) -> bool:
    """A server the suite started: the leader of its group, running as the service user."""
    try:
        return os.getpgid(p.pid) == p.pid and p.uids().real == SERVICE_UID
    except (ProcessLookupError, psutil.Error):
        return False


def sweep_processes(session: str | None = None) -> list[str]:
    """Kill the process groups of the suite's host servers whose owner is dead (of one session,
    or of any)."""
    removed: list[str] = []
    killed: list[int] = []
    for p, env in marked_processes():
        if not _chosen(env, session) or not _ours(p):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            os.killpg(p.pid, signal.SIGKILL)
            killed.append(p.pid)
            removed.append(f"host process {p.pid} {p.info['name']}")
    _wait_gone(killed)
    return removed


def _wait_gone(groups: list[int], timeout: float = 5.0) -> None:
    """Wait until no live process is left in the killed process groups (a SIGKILL is
    delivered to each member in its own time): what they held open is then closed."""
    deadline = time.monotonic() + timeout
    while groups and time.monotonic() < deadline:
        if not any(_alive_in(p, groups) for p in psutil.process_iter()):
            return
        time.sleep(0.02)


def _alive_in(p: psutil.Process, groups: list[int]) -> bool:
    try:
        return os.getpgid(p.pid) in groups and p.status() != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, psutil.Error):
        return False


def read_owner(d: Path, name: str = OWNER_FILE) -> str:
    """The owner mark of a directory of ours ("" when it is not provably ours: not a real
    directory of this user's, or its owner file is not a regular file of this user's)."""
    try:
        st = os.lstat(d)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            return ""
        fd = os.open(d / name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return ""
    try:
        mark = os.fstat(fd)
        if not stat.S_ISREG(mark.st_mode) or mark.st_uid != os.geteuid():
            return ""
        return os.read(fd, MAX_MARK).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)


def sweep_dirs(root: Path, session: str | None = None) -> list[str]:
    """Remove the suite's host scratch directories under root whose owner is dead. A directory
    without our owner file (an older triptych's, or anyone else's) is kept."""
    removed: list[str] = []
    with contextlib.suppress(OSError):
        for d in root.glob(f"{NAME_PREFIX}*"):
            if session is not None and not d.name.startswith(f"{NAME_PREFIX}{session}-"):
                continue
            if not owner_dead(read_owner(d)):
                continue
            shutil.rmtree(d, ignore_errors=True)  # fd-based: never follows a link inside
            removed.append(f"path {d}")
    return removed


def client_dir(session_prefix: str, what: str) -> Path:
    """A private directory on the host for a load generator's files (a password file, logs),
    in the system's temporary directory, named and marked like a scratch directory: what a
    killed run leaves there is swept like the rest."""
    d = Path(tempfile.mkdtemp(prefix=f"{session_prefix}-client-{what}-"))  # 0700, O_EXCL
    claim_dir(d)
    return d


def sweep_host(root: Path, session: str | None = None) -> list[str]:
    """The host's leftovers: servers first (they hold files open), cgroups of isolation
    cases (killing what still runs in them), then scratch directories and load generators'
    directories."""
    if session is not None and not valid_session(session):
        return []
    temp = Path(tempfile.gettempdir())
    return (
        sweep_processes(session)
        + sweep_cgroups(session)
        + sweep_dirs(root, session)
        + sweep_dirs(temp, session)
    )


def clean_host(session: str | None, scratch: Path) -> list[str]:
    """`triptych clean` for the host: its servers and scratch directories under `scratch`."""
    return sweep_host(scratch, session)
