"""The session id that labels everything one run creates, and the process that owns it."""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from pathlib import Path

# Every name the suite gives (containers, volumes, domains, networks, directories) starts so.
NAME_PREFIX = "triptych-"
# Where the host platform keeps its scratch directories unless --triptych-scratch says otherwise
# (a real filesystem: /tmp may be tmpfs, where O_DIRECT fails).
DEFAULT_SCRATCH = Path("/var/tmp/triptych")  # noqa: S108
# What new_session_id() makes: a UTC-free local timestamp and 6 hex digits.
SESSION_ID = re.compile(r"[0-9]{14}-[0-9a-f]{6}")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_session_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


def valid_session(value: str) -> bool:
    """Whether value is a session id as new_session_id() makes them (never a path, never "")."""
    return SESSION_ID.fullmatch(value) is not None


def boot_id() -> str:
    """This boot of the machine: a process of an earlier boot is dead whatever its pid."""
    try:
        value = BOOT_ID.read_text().strip()
    except OSError:
        return ""
    return value if UUID.fullmatch(value) else ""


def start_ticks(pid: int) -> int | None:
    """When process pid started, in clock ticks since boot (field 22 of /proc/PID/stat): a
    clock step cannot change it, and a reused pid has another. None: no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def owner() -> str:
    """This process, in a form that stays unique across PID reuse and reboots:
    "HOST:BOOT_ID:PID:START_TICKS".

    A resource whose owner process is gone was left by a run that died without cleaning up (a
    daemon restarted under it, SIGKILL, power loss), and the next run removes it."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{boot_id()}:{pid}:{start_ticks(pid)}"


def owner_dead(value: str) -> bool:
    """True only when `value` provably names a process of this host that no longer exists:
    one of an earlier boot, or of this boot whose pid is gone or now started at another tick.

    Anything unreadable, of another host, or of an older triptych (whose marks held a wall-clock
    start time, which a clock step falsifies) is not ours to judge: it is kept."""
    parts = value.split(":")
    this_boot = boot_id()
    if len(parts) != 4 or parts[0] != socket.gethostname() or not this_boot:
        return False
    _, boot, pid_text, ticks_text = parts
    if not (UUID.fullmatch(boot) and pid_text.isdigit() and ticks_text.isdigit()):
        return False
    if boot != this_boot:
        return True
    return _gone(int(pid_text), int(ticks_text))


def _gone(pid: int, ticks: int) -> bool:
    """Whether the process of this boot that started at `ticks` as `pid` has exited."""
    if pid == os.getpid():
        return False
    try:
        now = start_ticks(pid)
    except (OSError, ValueError, IndexError):
        return False
    return now is None or now != ticks
