"""Commands and servers inside a container: an exec typed over the SDK, and a background process
that can be stopped exactly (its pid file), as the user it runs as."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import cast

import docker
import docker.errors
from docker.models.containers import Container

from triptych.errors import TriptychError
from triptych.platforms.docker_conn import ENGINE_GONE
from triptych.process import CommandResult, terminate, timed_result, with_kill_timeout

PID_DIR = "/run"


def exec_in(container: Container, argv: Sequence[str], user: str = "") -> tuple[int, str, str]:
    """Run argv in the container (as `user`, default its root) and wait: exit code, stdout,
    stderr (typed over the SDK)."""
    code, streams = container.exec_run(list(argv), demux=True, user=user)
    out, err = cast("tuple[bytes | None, bytes | None]", streams)
    return (
        int(code) if code is not None else -1,  # None: the exec never finished
        (out or b"").decode(errors="replace"),
        (err or b"").decode(errors="replace"),
    )


def exec_timed(
    container: Container, argv: Sequence[str], timeout: float, label: str, user: str = ""
) -> CommandResult:
    """argv run in the container under a kill timeout, and timed (`label` names where in the
    result); a container gone is a one-line TriptychError. The engine gone (ENGINE_GONE) is the
    caller's to say."""
    args = [str(a) for a in argv]
    started = time.monotonic()
    try:
        code, out, err = exec_in(container, with_kill_timeout(args, timeout), user)
    except docker.errors.APIError as e:
        raise TriptychError(f"container {container.name} is gone: {e.explanation}") from None
    return timed_result(args, code, out, err, started, timeout, label)


class ContainerProcess:
    """A server started with exec in the container; its pid file lets us stop exactly it. It
    runs as `user` (default the container's root), and is signalled as that user: without
    capabilities, root may not signal another user's process."""

    def __init__(
        self, container: Container, argv: Sequence[str], name: str, user: str = ""
    ) -> None:
        self._container = container
        self._user = user
        self._pidfile = f"{PID_DIR if not user else '/tmp'}/triptych-{name}.pid"  # noqa: S108
        # The fixed script takes the tool's argv as positional parameters, never as text.
        script = 'echo $$ > "$0"; exec "$@"'
        container.exec_run(["sh", "-c", script, self._pidfile, *argv], detach=True, user=user)
        self._pid = ""
        deadline = time.monotonic() + 10
        while not self._pid and time.monotonic() < deadline:
            code, out, _ = exec_in(container, ["cat", self._pidfile])
            self._pid = out.strip() if code == 0 else ""
            if not self._pid:
                time.sleep(0.05)
        if not self._pid:
            raise TriptychError(f"{argv[0]} did not start in container {container.name}")

    def alive(self) -> bool:
        try:
            code, _, _ = exec_in(self._container, ["kill", "-0", self._pid], self._user)
        except (docker.errors.APIError, *ENGINE_GONE):
            return False
        return code == 0

    def stop(self) -> None:
        with contextlib.suppress(docker.errors.APIError, *ENGINE_GONE):
            terminate(
                lambda: self._container.exec_run(["kill", "-TERM", self._pid], user=self._user),
                self.alive,
                lambda: self._container.exec_run(["kill", "-KILL", self._pid], user=self._user),
            )
