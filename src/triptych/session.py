"""The session id that labels everything one run creates, and the process that owns it."""

from __future__ import annotations

import os
import secrets
import socket
import time

import psutil

# Every name the suite gives (containers, volumes, domains, networks, directories) starts so.
NAME_PREFIX = "triptych-"


def new_session_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


def owner() -> str:
    """This process, in a form that stays unique across PID reuse: "HOST:PID:START".

    A resource whose owner process is gone was left by a run that died without cleaning up (a
    daemon restarted under it, SIGKILL, power loss), and the next run removes it."""
    me = psutil.Process()
    return f"{socket.gethostname()}:{me.pid}:{me.create_time():.0f}"


def owner_dead(value: str) -> bool:
    """True only when `value` names a process of this host that no longer exists.

    Anything unreadable, or owned by another host, is not ours to judge: it is kept.
    """
    parts = value.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid, start = int(parts[1]), int(parts[2])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        return f"{psutil.Process(pid).create_time():.0f}" != str(start)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
