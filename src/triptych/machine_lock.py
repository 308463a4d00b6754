"""One measuring run per machine: an flock on a machine-wide file, so two runs (two CI jobs, a
person trying something) never measure each other. The kernel drops the lock when its holder
dies, so a dead run never blocks the next one; the file says who holds it.

The file lives where only root can create or open it (`/run/triptych.lock`, mode 0600, opened
without following links): a local user can neither hold it (flock works on any descriptor that
can be opened) nor plant or delete it. A lock file replaced under a waiting run is noticed (the
path must still name the file that was locked), and one replaced or deleted while a run holds it
is said when the run ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from triptych.errors import TriptychError
from triptych.private_path import UnsafePath, check_dir, open_private_file
from triptych.session import valid_session

ENV = "TRIPTYCH_LOCK"
DEFAULT_PATH = Path("/run/triptych.lock")
# A record that claims its holder started later than now by more than this is not believed.
SKEW = 300.0
MAX_RECORD = 4096
UNNAMED = "a run that has not said who it is"


class MachineBusy(TriptychError):
    """Another run holds the machine."""


def lock_path() -> Path:
    """The lock's path: TRIPTYCH_LOCK (an absolute file path) or /run/triptych.lock."""
    given = os.environ.get(ENV)
    if given is None:
        return DEFAULT_PATH
    if not given or not given.startswith("/") or given.endswith("/") or "\0" in given:
        raise TriptychError(
            f"{ENV}={given!r} is not an absolute file path; unset it (the lock is then "
            f"{DEFAULT_PATH}) or set it to a file in a directory only root can write"
        )
    return Path(given)


def _finite_time(x: object) -> bool:
    """A Unix time no later than a small clock skew past now (1e300, NaN, "x": not one)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    return math.isfinite(x) and 0 <= x <= time.time() + SKEW


def _believable(info: object) -> bool:
    """A holder record with a session id, a pid and a start time that could be true."""
    if not isinstance(info, dict):
        return False
    session, pid, since = info.get("session"), info.get("pid"), info.get("since")
    return (
        isinstance(session, str)
        and valid_session(session)
        and isinstance(pid, int)
        and not isinstance(pid, bool)
        and 0 < pid < 2**22
        and _finite_time(since)
    )


def _describe(raw: bytes) -> str:
    """The holder record, read defensively: anything odd reads as an unnamed run."""
    try:
        info = json.loads(raw[:MAX_RECORD].decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError, RecursionError):
        info = None
    if not _believable(info):
        return UNNAMED
    started = time.strftime("%H:%M:%S", time.localtime(info["since"]))
    return f"session {info['session']}, pid {info['pid']}, since {started}"


def holder(path: Path | None = None) -> str:
    """Who holds the lock, as the holder wrote it ("session S, pid P, since T")."""
    path = path or lock_path()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return UNNAMED
    try:
        return _describe(os.pread(fd, MAX_RECORD, 0))
    except OSError:
        return UNNAMED
    finally:
        os.close(fd)


def _open(path: Path) -> int:
    try:
        check_dir(path.parent, "the lock's directory")
        return open_private_file(path, os.O_RDWR | os.O_CREAT)
    except UnsafePath as e:
        raise TriptychError(
            f"machine lock: {e} (the lock must be a file only root can open; set {ENV} to move it)"
        ) from None


def _same_file(fd: int, path: Path) -> bool:
    """Whether path still names the file open as fd (not deleted, not replaced)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    held = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)


def acquire(session: str, wait: bool, path: Path | None = None) -> int:
    """The lock's file descriptor, held until `release` (or this process's death). Without
    `wait`, a held lock is a one-line MachineBusy naming its holder."""
    path = path or lock_path()
    while True:
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise MachineBusy(
                f"another triptych run is measuring on this machine ({holder(path)}); "
                "wait for it to end, or pass --triptych-wait to start when it does"
            ) from None
        if _same_file(fd, path):
            break
        os.close(fd)  # the file was replaced while we waited: lock the one the path names now
    os.ftruncate(fd, 0)
    record = {"session": session, "pid": os.getpid(), "since": time.time()}
    os.pwrite(fd, json.dumps(record).encode(), 0)
    return fd


def acquire_or_wait(session: str, wait: bool, say: Callable[[str], object]) -> int:
    """acquire(), and with `wait` a held lock is waited for (saying whose) instead of refused."""
    try:
        return acquire(session, wait=False)
    except MachineBusy:
        if not wait:
            raise
    say(f"triptych: waiting for {holder()} to end")
    return acquire(session, wait=True)


def release(fd: int, path: Path | None = None) -> str:
    """Drop the lock. Returns what a user must hear when its file was deleted or replaced while
    it was held (a second run could then have measured beside this one), else ""."""
    said = ""
    with contextlib.suppress(TriptychError):
        path = path or lock_path()
        if not _same_file(fd, path):
            said = (
                f"the machine lock {path} was deleted or replaced while this run held it: "
                "another run may have measured beside this one; treat its figures with care"
            )
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        os.close(fd)
    return said
