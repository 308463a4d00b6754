"""One measuring run per machine: an flock on a machine-wide file, so two runs (two CI jobs, a
person trying something) never measure each other. The kernel drops the lock when its holder
dies, so a dead run never blocks the next one; the file says who holds it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

from triptych.errors import TriptychError

LOCK_PATH = Path(os.environ.get("TRIPTYCH_LOCK", "/run/lock/triptych.lock"))


class MachineBusy(TriptychError):
    """Another run holds the machine."""


def holder(path: Path = LOCK_PATH) -> str:
    """Who holds the lock, as the holder wrote it ("session S, pid P, since T")."""
    try:
        info = json.loads(path.read_text() or "{}")
        since = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
        return f"session {info['session']}, pid {info['pid']}, since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a run that has not said who it is"


def acquire(session: str, wait: bool, path: Path = LOCK_PATH) -> int:
    """The lock's file descriptor, held until `release` (or this process's death). Without
    `wait`, a held lock is a one-line MachineBusy naming its holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        raise MachineBusy(
            f"another triptych run is measuring on this machine ({holder(path)}); "
            "wait for it to end, or pass --triptych-wait to start when it does"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(
        fd, json.dumps({"session": session, "pid": os.getpid(), "since": time.time()}).encode(), 0
    )
    return fd


def release(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        os.close(fd)
