"""How the suite marks what it leaves on the host itself, and the sweep that removes it.

A server the host platform starts carries `TRIPTYCH_OWNER=HOST:PID:START` and
`TRIPTYCH_SESSION` in its environment (its children inherit them: PostgreSQL's backends,
nginx's workers); a host scratch directory holds an owner file. A run killed with SIGKILL
cannot stop them; the next run (or `triptych clean`) finds them by those marks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from pathlib import Path

import psutil

from triptych.session import NAME_PREFIX, owner, owner_dead

OWNER_ENV = "TRIPTYCH_OWNER"
SESSION_ENV = "TRIPTYCH_SESSION"
OWNER_FILE = ".triptych-owner"
# Where the host platform keeps its scratch directories unless --triptych-scratch says otherwise
# (a real filesystem: /tmp may be tmpfs, where O_DIRECT fails).
DEFAULT_SCRATCH = Path("/var/tmp/triptych")  # noqa: S108


def marked_env(session: str) -> dict[str, str]:
    """The environment of a host server this process starts: ours, plus its marks."""
    return {**os.environ, OWNER_ENV: owner(), SESSION_ENV: session}


def claim_dir(path: Path) -> None:
    """Mark a host scratch directory as this process's."""
    (path / OWNER_FILE).write_text(owner() + "\n")


def _chosen(marks: dict[str, str], session: str | None, stale_only: bool) -> bool:
    if session is not None and marks.get(SESSION_ENV) != session:
        return False
    return not stale_only or owner_dead(marks.get(OWNER_ENV, ""))


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


def sweep_processes(session: str | None = None, stale_only: bool = False) -> list[str]:
    """Kill the suite's host servers (their process groups): of one session, of all, or only
    those whose owner process is gone."""
    removed: list[str] = []
    for p, env in marked_processes():
        if not _chosen(env, session, stale_only):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            os.killpg(os.getpgid(p.pid), signal.SIGKILL)
            removed.append(f"host process {p.pid} {p.info['name']}")
    return removed


def sweep_dirs(root: Path, session: str | None = None, stale_only: bool = False) -> list[str]:
    """Remove the suite's host scratch directories under root whose owner is gone."""
    removed: list[str] = []
    with contextlib.suppress(OSError):
        for d in root.glob(f"{NAME_PREFIX}*"):
            if session is not None and not d.name.startswith(f"{NAME_PREFIX}{session}"):
                continue
            try:
                mark = (d / OWNER_FILE).read_text().strip()
            except OSError:
                mark = ""  # a directory of an older triptych: no owner to ask, kept unless clean
            if stale_only and not owner_dead(mark):
                continue
            shutil.rmtree(d, ignore_errors=True)
            removed.append(f"path {d}")
    return removed


def sweep_host(root: Path, session: str | None = None, stale_only: bool = False) -> list[str]:
    """The host's leftovers: servers first (they hold files open), then scratch directories."""
    return sweep_processes(session, stale_only) + sweep_dirs(root, session, stale_only)
