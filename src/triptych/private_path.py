"""Paths the suite creates as root: ours and private, checked with lstat, never followed.

A directory the suite makes (the scratch root, the image cache, the guests' disks, the lock's
place) is created with the mode it needs, or, when it is already there, accepted only if
`lstat` shows a real directory owned by this user (or root) that no group or other user can
write, below ancestors that nobody else can rename it out of (each owned by root or this user,
and sticky where others may write, like /tmp). Anything else is refused in one line naming the
path and the fix: a user who created the directory first must not get to choose what root
writes through it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from triptych.errors import TriptychError


class UnsafePath(TriptychError):
    """A path the suite would write as root is not provably its own."""


def _trusted_owner(uid: int) -> bool:
    return uid in (0, os.geteuid())


def _problem(path: Path, st: os.stat_result, strict: bool) -> str:
    """What makes an existing path unsafe ("" when it is safe)."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if not _trusted_owner(st.st_uid):
        return f"is owned by uid {st.st_uid}, not by root"
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if strict and writable:
        return f"is writable by other users (mode {stat.S_IMODE(st.st_mode):04o})"
    if not strict and writable and not st.st_mode & stat.S_ISVTX:
        return f"is writable by other users and not sticky (mode {stat.S_IMODE(st.st_mode):04o})"
    return ""


def check_ancestors(path: Path) -> None:
    """Refuse a path whose existing ancestors would let another user replace it."""
    for parent in reversed(Path(os.path.abspath(path)).parents):
        try:
            st = os.lstat(parent)
        except FileNotFoundError:
            return
        problem = _problem(parent, st, strict=False)
        if problem:
            raise UnsafePath(
                f"{parent}: {problem}, so another user could replace {path}; "
                "use a path whose every directory only root can change"
            )


def check_dir(path: Path, what: str) -> Path:
    """An existing directory, if it is provably ours and private to writes; else UnsafePath."""
    check_ancestors(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise UnsafePath(f"{path}: {what} does not exist") from None
    problem = _problem(path, st, strict=True)
    if problem:
        raise UnsafePath(
            f"{path}: {what} {problem}; remove it (root creates it afresh) or choose another "
            "path that root owns with mode 0755 or stricter"
        )
    return path


def private_dir(path: Path, what: str, mode: int = 0o700) -> Path:
    """The directory at path, created (with its missing parents, mode 0755 for those) with
    `mode` if missing, else checked with check_dir. The mode of a directory we find is left as
    it is (it is checked to be no more open than group/other read and traverse)."""
    check_ancestors(path)
    missing = []
    p = Path(os.path.abspath(path))
    while True:
        try:
            os.lstat(p)
            break
        except FileNotFoundError:
            missing.append(p)
            p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, mode if d == missing[0] else 0o755)
        except FileExistsError:
            pass  # made meanwhile by someone: the check below judges it
        except OSError as e:
            raise UnsafePath(f"{d}: cannot create {what} ({e.strerror})") from None
        if d == missing[0]:
            os.chmod(d, mode)  # the umask must not loosen or tighten what we asked for
    return check_dir(path, what)


def open_private_file(path: Path, flags: int, mode: int = 0o600) -> int:
    """A file descriptor for path, never through a symbolic link; a file created here gets
    `mode`, an existing one must be a regular file owned by this user (or root)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        raise UnsafePath(f"{path}: cannot open ({e.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or not _trusted_owner(st.st_uid):
        os.close(fd)
        raise UnsafePath(
            f"{path}: not a regular file of root's (uid {st.st_uid}); remove it so root "
            "creates it afresh"
        )
    return fd


def replace_atomically(folder: Path, path: Path, data: bytes, prefix: str) -> None:
    """Write data to path (mode 0644) through a temporary file of our own in `folder` (created
    O_EXCL, so never through a link), renamed over the old one (a link at path is replaced, not
    followed); nothing is left on failure. Safe in any folder; where what is written must not be
    moved or replaced by others, the caller has checked that `folder` is ours."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
