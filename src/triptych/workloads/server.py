"""The one server workload: a server on the platform, its client on the host (iperf3, sockperf
and the services). One readiness rule (the server listens, then a real client request succeeds,
within a bounded wait that says what it waited for), one client placement (recorded in every
round and shown by the report alike), one lifecycle (prepare starts the server, a round is one
client run, cleanup stops it and removes the client's directory).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar

from triptych.errors import TriptychError
from triptych.platforms.base import Background, Endpoint, Platform, wait_for_listen
from triptych.platforms.host_sweep import client_dir
from triptych.process import CommandResult, run_local
from triptych.sample import Sample
from triptych.workloads.base import RunSpec, WorkloadBase
from triptych.workloads.placement import Placement, place

SERVER_READY_TIMEOUT = 120.0
READY_POLL = 0.5


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


class ServerWorkload(WorkloadBase):
    """prepare: endpoint, placement, server, readiness; measure: one host client run."""

    target: ClassVar[str] = "network"
    port: ClassVar[int]
    ready_timeout: ClassVar[float] = SERVER_READY_TIMEOUT
    # A client that reports its own failure in its output (iperf3's JSON "error") is parsed,
    # so the error is its own; others fail on their exit status.
    parses_failed_runs: ClassVar[bool] = False

    def __init__(self, params: Any, spec: RunSpec) -> None:  # noqa: ANN401
        super().__init__(params, spec)
        self._server: Background | None = None
        self._endpoint: Endpoint | None = None
        self._client_dir: Path | None = None
        self.placement: Placement | None = None
        # Where the server and client go when the caller decides (a neighbour's victim: on
        # the victim's CPU), instead of the machine's usual placement.
        self.placed: Placement | None = None

    # What each server workload says.
    def start_server(self, platform: Platform, placement: Placement) -> Background:
        """Start the server on the platform, as the service user (placed by `placement`)."""
        raise NotImplementedError

    def request(self, endpoint: Endpoint, client_dir: Path) -> str | None:
        """One real client request: None when the server answered it, else why not. A server
        that listens is not yet ready (PostgreSQL under emulation refuses connections while it
        starts up; iperf3 may still be setting up its control channel)."""
        raise NotImplementedError

    def client_argv(self, endpoint: Endpoint, client_dir: Path, run: RunSpec) -> list[str]:
        raise NotImplementedError

    def parse_round(self, result: CommandResult, client_dir: Path) -> list[Sample]:
        raise NotImplementedError

    def after_ready(self, platform: Platform, endpoint: Endpoint, client_dir: Path) -> None:
        """Client work once the server answers, before the rounds (e.g. pgbench -i)."""

    def client_env(self, client_dir: Path) -> dict[str, str] | None:
        """The client's environment (None: the caller's), e.g. where its password file is."""
        return None

    def run_client(
        self, argv: list[str], run: RunSpec, where: str, env: dict[str, str] | None
    ) -> CommandResult:
        """One client run (a tool whose handshake can stumble may retry it here)."""
        return run_local(argv, run.timeout, where, env=env)

    def server_state(self, platform: Platform) -> str:
        """What the server said last, for an error that says why it stopped ("": nothing)."""
        return ""

    def stop_server(self, platform: Platform) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    # The lifecycle they share.
    def prepare(self, platform: Platform, variant: str) -> None:
        try:
            self._prepare(platform, variant)
        except BaseException:
            # The runner cleans up only after a prepare that succeeded: a server that started
            # but was never ready must not hold the port for the next case.
            with contextlib.suppress(TriptychError):
                self.cleanup(platform, variant)
            raise

    def _prepare(self, platform: Platform, variant: str) -> None:
        self._endpoint = platform.endpoint(self.port, variant)
        self.placement = self.placed or place(
            machine_cpus(), platform.pinned_cpus(), platform.pins_own_servers
        )
        self._client_dir = client_dir(platform.session_prefix, self.name)
        self._server = self.start_server(platform, self.placement)
        try:
            wait_for_listen(platform, self.port, self.ready_timeout, self._server)
            self._wait_answered(self._endpoint, self._client_dir)
        except TriptychError as e:
            raise TriptychError(
                f"{self.tool} server on {platform.name}: {e}{self._said(platform)}"
            ) from None
        self.after_ready(platform, self._endpoint, self._client_dir)

    def _said(self, platform: Platform) -> str:
        state = self.server_state(platform)
        return f" ({state})" if state else ""

    def _wait_answered(self, endpoint: Endpoint, client_dir: Path) -> None:
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

    def measure(self, platform: Platform, variant: str, run: RunSpec | None = None) -> list[Sample]:
        run = run or self.spec
        if self._endpoint is None or self._server is None or self.placement is None:
            raise TriptychError(f"{self.name}: run() before prepare()")
        if not self._server.alive():
            raise TriptychError(
                f"{self.tool} server on {platform.name} is no longer running{self._said(platform)}"
            )
        client_dir = self._started_dir()
        argv = self.placement.client_argv(self.client_argv(self._endpoint, client_dir, run))
        where = f"host (client of {platform.name})"
        result = self.run_client(argv, run, where, self.client_env(client_dir))
        if result.returncode != 0:
            if not self._server.alive():
                raise TriptychError(
                    f"{self.tool} server on {platform.name} stopped during the round"
                    f"{self._said(platform)}"
                )
            if not (self.parses_failed_runs and result.stdout.strip()):
                result.check(where)
        meta = self.placement.metadata()
        return [
            Sample(s.metric, s.value, s.unit, s.higher_is_better, metadata={**meta, **s.metadata})
            for s in self.parse_round(result, client_dir)
        ]

    def client_placement(self) -> str:
        return self.placement.kind if self.placement is not None else ""

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
        self.stop_server(platform)
        if self._client_dir is not None:
            shutil.rmtree(self._client_dir, ignore_errors=True)
            self._client_dir = None
