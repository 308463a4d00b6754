"""Services: a real server on the platform (as an unprivileged user, in the foreground, owned by
the suite), its load generator on the host, like iperf3; each round is one client run.

A service keeps its files in a directory of its own on the platform's primary disk (the host's
scratch directory, the container's volume, the guest's virtual disk); its server's output goes to
a log there, whose last line is the error when the server does not come up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from triptych.errors import TriptychError
from triptych.platforms.base import (
    Background,
    Endpoint,
    Platform,
    wait_for_listen,
)
from triptych.process import CommandResult, run_local
from triptych.sample import Sample
from triptych.service_user import SERVICE_UID, SERVICES_DIR
from triptych.workloads.base import RunSpec, WorkloadBase
from triptych.workloads.placement import Placement, place

SERVER_READY_TIMEOUT = 120.0
READY_POLL = 0.5
SETUP_TIMEOUT = 600.0  # initdb and loading a table, under emulation too
LOG = "server.log"


def machine_cpus() -> tuple[int, ...]:
    """The host CPUs this process may use (the client inherits them)."""
    return tuple(sorted(os.sched_getaffinity(0)))


def answered(argv: list[str], env: dict[str, str] | None = None) -> str | None:
    """A client request made by a tool on the host: None when it exited 0, else its last line."""
    try:
        r = run_local(argv, 30, "host (readiness request)", env)
    except TriptychError as e:
        return str(e)
    if r.returncode == 0:
        return None
    lines = (r.stderr.strip() or r.stdout.strip() or f"exit code {r.returncode}").splitlines()
    return lines[-1]


def write_file(platform: Platform, path: str, text: str) -> None:
    """A file of the service user's on the platform (the text is an argument, never a script)."""
    write = ["sh", "-c", 'printf "%s" "$1" > "$0"', path, text]
    platform.execute_as_service(write, 60).check(platform.name)


class ServiceWorkload(WorkloadBase):
    """prepare: files, server, readiness (and data); measure: one host client run; cleanup."""

    family: ClassVar[str] = "services"
    target: ClassVar[str] = "network"
    sweep_axis: ClassVar[str] = "connections"  # every service's load is its client count
    port: ClassVar[int]
    ready_timeout: ClassVar[float] = SERVER_READY_TIMEOUT

    def __init__(self, params: Any, spec: RunSpec) -> None:  # noqa: ANN401
        super().__init__(params, spec)
        self._server: Background | None = None
        self._endpoint: Endpoint | None = None
        self._dir = ""
        self._client_dir: Path | None = None
        self.placement: Placement | None = None

    # What each service says.
    def setup(self, platform: Platform, directory: str) -> None:
        """Commands before the server starts (as the service user), e.g. initdb."""

    def server_argv(self, platform: Platform, directory: str) -> list[str]:
        raise NotImplementedError

    def load(self, endpoint: Endpoint, client_dir: Path) -> None:
        """Client work once the server listens, before the rounds (e.g. pgbench -i)."""

    def client_argv(self, endpoint: Endpoint, client_dir: Path, run: RunSpec) -> list[str]:
        raise NotImplementedError

    def parse_round(self, result: CommandResult, client_dir: Path) -> list[Sample]:
        raise NotImplementedError

    def request(self, endpoint: Endpoint, client_dir: Path) -> str | None:
        """One real client request: None when the server answered it, else why not. A server
        that listens is not yet ready (PostgreSQL under emulation refuses connections while it
        starts up): a case begins only once a request succeeded."""
        raise NotImplementedError

    def client_env(self, client_dir: Path) -> dict[str, str] | None:
        """The client's environment (None: the caller's), e.g. where its password file is."""
        return None

    # The lifecycle every service shares.
    def prepare(self, platform: Platform, variant: str) -> None:
        try:
            self._prepare(platform, variant)
        except BaseException:
            # The runner cleans up only after a prepare that succeeded: a server that started
            # but whose data failed to load must not hold the port for the next case.
            with contextlib.suppress(TriptychError):
                self.cleanup(platform, variant)
            raise

    def _prepare(self, platform: Platform, variant: str) -> None:
        self._endpoint = platform.endpoint(self.port, variant)
        self.placement = place(machine_cpus(), platform.pinned_cpus(), platform.pins_own_servers)
        self._client_dir = Path(tempfile.mkdtemp(prefix=f"triptych-{self.name}-client-"))
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
        self._server = platform.spawn_service(self.placement.server_argv(logged))
        try:
            wait_for_listen(platform, self.port, self.ready_timeout, self._server)
            self._wait_answered(platform, self._endpoint, self._client_dir)
        except TriptychError as e:
            raise TriptychError(
                f"{self.tool} server on {platform.name}: {e} ({self.last_log(platform)})"
            ) from None
        self.load(self._endpoint, self._client_dir)

    def _wait_answered(self, platform: Platform, endpoint: Endpoint, client_dir: Path) -> None:
        """Until a real client request succeeds (bounded, saying what it waited for)."""
        deadline = time.monotonic() + self.ready_timeout
        while (why := self.request(endpoint, client_dir)) is not None:
            if self._server is not None and not self._server.alive():
                raise TriptychError("it exited before it answered a client request")
            if time.monotonic() > deadline:
                raise TriptychError(
                    f"it listened on port {self.port} but answered no client request within "
                    f"{self.ready_timeout:g} s (last: {why})"
                )
            time.sleep(READY_POLL)

    def last_log(self, platform: Platform) -> str:
        """The server's own last log line, for an error that says why it stopped."""
        try:
            tail = platform.execute_as_service(["tail", "-n", "1", f"{self._dir}/{LOG}"], 30)
        except TriptychError:
            return "its log is unreadable"
        line = tail.stdout.strip()
        return f"its last log line: {line}" if line else "its log is empty"

    def measure(self, platform: Platform, variant: str, run: RunSpec | None = None) -> list[Sample]:
        run = run or self.spec
        if self._endpoint is None or self._server is None or self.placement is None:
            raise TriptychError(f"{self.name}: run() before prepare()")
        if not self._server.alive():
            raise TriptychError(
                f"{self.tool} server on {platform.name} is no longer running "
                f"({self.last_log(platform)})"
            )
        client_dir = self._started_dir()
        argv = self.placement.client_argv(self.client_argv(self._endpoint, client_dir, run))
        where = f"host (client of {platform.name})"
        result = run_local(argv, run.timeout, where, env=self.client_env(client_dir))
        if result.returncode != 0:
            if not self._server.alive():
                raise TriptychError(
                    f"{self.tool} server on {platform.name} stopped during the round "
                    f"({self.last_log(platform)})"
                )
            result.check(f"host (client of {platform.name})")
        meta = self.placement.metadata()
        return [
            Sample(s.metric, s.value, s.unit, s.higher_is_better, metadata={**meta, **s.metadata})
            for s in self.parse_round(result, client_dir)
        ]

    def client_placement(self) -> str:
        if self.placement is None:
            return ""
        return "shared" if self.placement.shared else "apart"

    def client_cpus(self) -> tuple[int, ...]:
        """The CPUs the load generator runs on (its threads are sized to them)."""
        if self.placement is not None and self.placement.client:
            return self.placement.client
        return machine_cpus()

    def _started_dir(self) -> Path:
        if self._client_dir is None:
            raise TriptychError(f"{self.name}: run() before prepare()")
        return self._client_dir

    def cleanup(self, platform: Platform, variant: str) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._dir:
            platform.execute_as_service(["rm", "-rf", "--", self._dir], 120)
            self._dir = ""
        if self._client_dir is not None:
            shutil.rmtree(self._client_dir, ignore_errors=True)
            self._client_dir = None
