"""Running commands from argv lists with a timeout, here and inside platforms, and stopping them.

Local commands are killed with their whole process group. Inside a container or guest a command
is wrapped in coreutils `timeout -s KILL` (which signals the tool's process group there); every
background server, wherever it runs, is stopped by `terminate()`: SIGTERM, a grace period, SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from triptych.errors import CommandFailed, CommandTimeout


@dataclass(frozen=True)
class CommandResult:
    """What a finished command printed and returned."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def check(self, where: str) -> CommandResult:
        """Raise CommandFailed unless the command exited 0."""
        if self.returncode != 0:
            raise CommandFailed(self.argv, self.returncode, self.stdout, self.stderr, where)
        return self


# The whole environment of what the suite runs as the service user (its servers, their set-up):
# nothing of the caller's, so no store password or token reaches a process others may talk to.
CLEAN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/",
}
# What a shell (and Docker, and our guest agent wrapper) reports for a command killed by SIGKILL.
KILLED_EXIT = 128 + signal.SIGKILL
# How long a server gets to exit after SIGTERM before it is killed, on every platform.
GRACE = 5.0
POLL = 0.1


def with_kill_timeout(argv: Sequence[str], timeout: float) -> list[str]:
    """argv wrapped so that it is killed (with its process group) inside the platform."""
    return ["timeout", "-s", "KILL", f"{timeout:g}s", *[str(a) for a in argv]]


def timed_result(
    argv: list[str], code: int, out: str, err: str, started: float, timeout: float, where: str
) -> CommandResult:
    """The result of a command run under with_kill_timeout(); CommandTimeout if it was killed."""
    elapsed = time.monotonic() - started
    if code == KILLED_EXIT and elapsed >= timeout:
        raise CommandTimeout(argv, timeout, out, err, where)
    return CommandResult(argv, code, out, err, elapsed)


def terminate(
    signal_term: Callable[[], object],
    alive: Callable[[], bool],
    signal_kill: Callable[[], object],
    grace: float = GRACE,
) -> None:
    """SIGTERM, wait up to `grace` seconds for the process to go, then SIGKILL."""
    signal_term()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive():
            return
        time.sleep(POLL)
    signal_kill()


def _kill_group(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_local(
    argv: Sequence[str], timeout: float, where: str = "host", env: dict[str, str] | None = None
) -> CommandResult:
    """Run argv (never through a shell); on timeout kill the process group and raise."""
    args = [str(a) for a in argv]
    started = time.monotonic()
    with subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            raise CommandTimeout(args, timeout, out, err, where) from None
        except BaseException:
            # Ctrl-C or any other interruption: never leave the tool running behind us.
            _kill_group(proc)
            proc.wait()
            raise
    return CommandResult(args, proc.returncode, out, err, time.monotonic() - started)


class LocalProcess:
    """A background process on the host (a server), stopped with its whole process group."""

    def __init__(
        self, argv: Sequence[str], where: str = "host", env: dict[str, str] | None = None
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.where = where
        # No pipes: a chatty server must never block on a pipe nobody reads.
        self._proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def stop(self) -> None:
        if self.alive():
            terminate(
                lambda: self._signal(signal.SIGTERM),
                self.alive,
                lambda: self._signal(signal.SIGKILL),
            )
            self._proc.wait()
