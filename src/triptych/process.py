"""Run a local process from an argv list with a timeout that kills its whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
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

    def __init__(self, argv: Sequence[str], where: str = "host") -> None:
        self.argv = [str(a) for a in argv]
        self.where = where
        # No pipes: a chatty server must never block on a pipe nobody reads.
        self._proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
