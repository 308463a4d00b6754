"""A container of the suite's beyond a platform's own: waited for until an exec answers, what
carries it on the host, removed with its anonymous volumes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

import docker.errors
import psutil
from docker.models.containers import Container

from triptych.errors import TriptychError
from triptych.platforms.addresses import AddressPool
from triptych.platforms.docker_attrs import container_address
from triptych.platforms.docker_conn import ENGINE_GONE, why_gone
from triptych.platforms.docker_process import exec_in, exec_timed
from triptych.platforms.instance import cpu_text, with_descendants
from triptych.process import CommandResult


def container_pid(container: Container) -> int:
    """The container's first process on the host (0: not running)."""
    if not (container.attrs.get("State") or {}).get("Pid"):
        with contextlib.suppress(docker.errors.APIError):
            container.reload()  # created, not yet inspected since it started
    return int((container.attrs.get("State") or {}).get("Pid") or 0)


def shim_of(pid: int) -> int:
    """The containerd shim a container's first process runs under (0: unknown)."""
    try:
        return psutil.Process(pid).ppid() if pid > 0 else 0
    except psutil.Error:
        return 0


class DockerInstance:
    """A running container (Instance)."""

    work_dir = "/var/tmp"  # noqa: S108 - inside the container, its own filesystem

    def __init__(self, container: Container, pool: AddressPool | None) -> None:
        self.container = container
        self.name = str(container.name)
        self.pool = pool  # where its address may lie (None: the host's network)

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        try:
            return exec_timed(self.container, argv, timeout, self.name)
        except ENGINE_GONE as e:
            raise TriptychError(
                f"container {self.name}: the Docker engine went away ({why_gone(e)}); start it "
                "again with scripts/daemons.sh start"
            ) from None

    def pin(self, cpus: tuple[int, ...]) -> None:
        try:
            self.container.update(cpuset_cpus=cpu_text(cpus))
        except docker.errors.APIError as e:
            raise TriptychError(
                f"container {self.name}: could not confine it to CPUs {cpu_text(cpus)} "
                f"({e.explanation})"
            ) from None

    def address(self) -> str:
        return container_address(self.container, self.pool)

    def wait_until_answers(self, timeout: float) -> None:
        # No pause between tries: each exec is an API round trip, and the first that answers
        # is the launch time (a pause would round it up).
        deadline = time.monotonic() + timeout
        while exec_in(self.container, ["true"])[0] != 0:
            if time.monotonic() > deadline:
                raise TriptychError(f"container {self.name} never answered an exec")

    def host_pids(self) -> list[int]:
        shim = shim_of(container_pid(self.container))
        return with_descendants(shim) if shim > 1 else []

    def remove(self) -> bool:
        try:
            self.container.remove(force=True, v=True)
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError:
            return False
        return True
