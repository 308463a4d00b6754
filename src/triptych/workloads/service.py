"""Services: a real server on the platform (as an unprivileged user, in the foreground, owned by
the suite), its load generator on the host, like iperf3; each round is one client run.

A service keeps its files in a directory of its own on the platform's primary disk (the host's
scratch directory, the container's volume, the guest's virtual disk); its server's output goes to
a log there, whose last line is the error when the server does not come up.
"""

from __future__ import annotations

from typing import Any, ClassVar

from triptych.errors import TriptychError
from triptych.platforms.base import Background, Platform
from triptych.service_user import SERVICE_UID, SERVICES_DIR
from triptych.workloads.base import RunSpec
from triptych.workloads.placement import Placement
from triptych.workloads.server import ServerWorkload

SETUP_TIMEOUT = 600.0  # initdb and loading a table, under emulation too
LOG = "server.log"


def write_file(platform: Platform, path: str, text: str) -> None:
    """A file of the service user's on the platform (the text is an argument, never a script)."""
    write = ["sh", "-c", 'printf "%s" "$1" > "$0"', path, text]
    platform.execute_as_service(write, 60).check(platform.name)


class ServiceWorkload(ServerWorkload):
    """A server workload with files of its own: a fresh directory on the platform's primary
    disk, commands before the server starts (setup), and a log whose last line explains it."""

    family: ClassVar[str] = "services"
    sweep_axis: ClassVar[str] = "connections"  # every service's load is its client count

    def __init__(self, params: Any, spec: RunSpec) -> None:  # noqa: ANN401
        super().__init__(params, spec)
        self._dir = ""

    # What each service says.
    def setup(self, platform: Platform, directory: str) -> None:
        """Commands before the server starts (as the service user), e.g. initdb."""

    def server_argv(self, platform: Platform, directory: str) -> list[str]:
        raise NotImplementedError

    # Its files, server and log.
    def start_server(self, platform: Platform, placement: Placement) -> Background:
        base = f"{platform.scratch(platform.disk_variants[0]).path}/{SERVICES_DIR}"
        platform.service_dir(base)
        if platform.execute_as_service(["test", "-w", base], 60).returncode != 0:
            raise TriptychError(
                f"the service user (uid {SERVICE_UID}) cannot reach {base} on {platform.name}; "
                "make every directory above it traversable (chmod o+x), or pass "
                "--triptych-scratch a directory that is"
            )
        busy = platform.execute(["ss", "-Htln", f"sport = :{self.port}"], 30)
        if busy.returncode == 0 and busy.stdout.strip():
            raise TriptychError(
                f"port {self.port} on {platform.name} is already in use, so the {self.tool} "
                f"server cannot listen; stop what listens there (ss -tlnp 'sport = :{self.port}')"
            )
        self._dir = f"{base}/{self.name}"
        # Fresh for every case: nothing of an earlier case (a database) carries over.
        fresh = ["sh", "-c", 'rm -rf -- "$0" && mkdir -p -- "$0"', self._dir]
        platform.execute_as_service(fresh, 120).check(platform.name)
        self.setup(platform, self._dir)
        log = f"{self._dir}/{LOG}"
        logged = ["sh", "-c", 'exec "$@" >"$0" 2>&1', log, *self.server_argv(platform, self._dir)]
        return platform.spawn_service(placement.server_argv(logged))

    def server_state(self, platform: Platform) -> str:
        """The server's own last log line."""
        if not self._dir:
            return ""
        try:
            tail = platform.execute_as_service(["tail", "-n", "1", f"{self._dir}/{LOG}"], 30)
        except TriptychError:
            return "its log is unreadable"
        line = tail.stdout.strip()
        return f"its last log line: {line}" if line else "its log is empty"

    def stop_server(self, platform: Platform) -> None:
        super().stop_server(platform)
        if self._dir:
            platform.execute_as_service(["rm", "-rf", "--", self._dir], 120)
            self._dir = ""
