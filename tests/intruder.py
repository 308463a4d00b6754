"""A second, unprivileged local user made by a test (and removed after), to try the attacks a
local user could on a shared runner; and a run that dies by SIGKILL, to leave real leftovers."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Intruder:
    name: str
    uid: int
    gid: int

    def argv(self, *argv: str) -> list[str]:
        """argv run as this user, with no groups and a bare environment."""
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--",
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
            *argv,
        ]

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*argv), capture_output=True, text=True, timeout=timeout, check=False
        )

    def popen(self, *argv: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*argv), stdout=subprocess.PIPE, text=True, start_new_session=True
        )


@contextlib.contextmanager
def intruder() -> Iterator[Intruder]:
    """A fresh system user without a home or groups, removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("making a second user needs root")
    name = f"tt-intruder-{secrets.token_hex(3)}"
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    entry = pwd.getpwnam(name)
    try:
        yield Intruder(name, entry.pw_uid, entry.pw_gid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        subprocess.run(["userdel", name], capture_output=True, check=False)


def crashed(code: str) -> None:
    """Run `code` in a child Python that prints "up" once it has made its resources, then kill
    it with SIGKILL: what it made is left behind, with a provably dead owner."""
    script = f"{code}\nprint('up', flush=True)\nimport time\ntime.sleep(600)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline().strip()
        assert line == "up", f"the child did not get its resources up: {line!r}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
