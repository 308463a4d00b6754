"""The Platform contract: start, execute an argv, reach its servers, describe itself, stop.

The lifecycle every platform shares lives here: the session's resource names, the servers it
spawned, a template stop() (servers first, then the platform's own resources, then one warning
naming what could not be removed), and one health hook (check_alive) behind healthy().
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Protocol, Self, TypeVar

from triptych.cleanup import report_left
from triptych.environment import version_line
from triptych.errors import NotApplicable, TriptychError
from triptych.host_cpu import Carriers
from triptych.platforms.catalog import KINDS, PlatformKind
from triptych.platforms.instance import Instance
from triptych.platforms.settings import EngineSettings
from triptych.process import CommandResult
from triptych.sample import MetaValue
from triptych.service_user import SERVICE_UID, as_service_user
from triptych.session import NAME_PREFIX
from triptych.tools import on_platforms

if TYPE_CHECKING:
    from triptych.platforms.cgroups import Limits

T = TypeVar("T")


@dataclass(frozen=True)
class PlatformSettings:
    """What every platform may need from the run: where scratch files go, and the session id."""

    session: str
    scratch_root: Path
    server_ports: tuple[int, ...]


@dataclass(frozen=True)
class Endpoint:
    """How a client on the host reaches a server port on the platform."""

    variant: str
    host: str
    port: int


@dataclass(frozen=True)
class ScratchDir:
    """A directory on the platform for disk workloads, and what backs it."""

    variant: str
    path: str


class Background(Protocol):
    """A long-running command (a server) on a platform."""

    def alive(self) -> bool: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ColdStart:
    """A fresh instance of a platform, timed from creation until a command run inside answered,
    and its memory use once it did."""

    seconds: float
    memory_bytes: int
    memory_measured: str  # what the memory figure is, e.g. "cgroup memory usage"


class Platform(abc.ABC):
    """One place to run workloads. Use it as a context manager: it stops even when start fails."""

    name: ClassVar[str]
    # Whether a server can be pinned to host CPUs with taskset where it runs (not in a guest,
    # whose vCPUs are not host CPUs).
    pins_own_servers: ClassVar[bool] = True
    # Whether a server may start inside a host cgroup of ours (the host's cgroup row).
    enters_groups: ClassVar[bool] = False
    # Why release() could leave something behind: its engine went away.
    engine_gone: ClassVar[str] = "its engine is gone"

    def __init__(self, session: str) -> None:
        self.session = session
        self._servers: list[Background] = []
        self.tools: dict[str, MetaValue] = {}  # tool_versions(), read once it has started

    @classmethod
    @abc.abstractmethod
    def create(cls, settings: PlatformSettings, engines: EngineSettings) -> Self:
        """One for the run (the registry calls this: every platform is built the same way)."""

    @property
    def kind(self) -> PlatformKind:
        """What the platform is (layer, paths), from the catalog where each platform's facts
        live."""
        return KINDS[self.name]

    @property
    def network_variants(self) -> tuple[str, ...]:
        """Ways a host client reaches a server on this platform."""
        return self.kind.network_variants

    @property
    def disk_variants(self) -> tuple[str, ...]:
        """Places disk I/O can land on this platform."""
        return self.kind.disk_variants

    @property
    def session_prefix(self) -> str:
        """What every name this session gives starts with (the sweep matches it)."""
        return f"{NAME_PREFIX}{self.session}"

    @property
    def resource_name(self) -> str:
        """The name of this platform's container, volume or guest in this session."""
        return f"{self.session_prefix}-{self.name}"

    @abc.abstractmethod
    def start(self) -> None:
        """Bring the platform up; raise PlatformUnavailable with the reason if it cannot."""

    def stop(self) -> None:
        """Remove everything start created; safe to call twice and after a failed start."""
        while self._servers:
            self._servers.pop().stop()
        report_left(self.name, self.engine_gone, self.release())

    @abc.abstractmethod
    def release(self) -> list[str]:
        """Remove the platform's own resources; name those that could not be removed."""

    @abc.abstractmethod
    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run argv on the platform and wait; kill it there if it outlives timeout."""

    def spawn_service(self, argv: Sequence[str], enter: Sequence[str] = ()) -> Background:
        """Start a server in the background as the unprivileged service user (every server the
        suite starts, iperf3's and sockperf's too: never as root); stop() stops it. `enter` is
        a fixed command prefix root runs it under before the drop (the host's cgroup join: a
        group's procs file is root's); only the host takes one."""
        if enter and not self.enters_groups:
            raise TriptychError(f"{self.name}: a server cannot start inside a host cgroup here")
        server = (
            self._spawn([*enter, *as_service_user(argv)]) if enter else self._spawn_service(argv)
        )
        self._servers.append(server)
        return server

    @abc.abstractmethod
    def _spawn(self, argv: Sequence[str]) -> Background:
        """Start argv in the background on the platform."""

    def cannot_run(self, target: str, variant: str = "") -> str | None:
        """Why a workload of `target` (compute, disk, network, lifecycle, isolation) cannot run
        here through `variant`, as its runtime declares (None: it can): its cases are skipped
        with that line."""
        return None

    def cgroup_limits(self) -> Limits:
        """The limits a container of the scenario gets: its containers' own on a container
        platform, the host's cgroup-only isolation row's on the host; NotApplicable on a
        platform isolated its own way (a guest)."""
        raise NotApplicable(f"platform {self.name} has no cgroup-only variant")

    def pinned_cpus(self) -> tuple[int, ...] | None:
        """The host CPUs the platform's work is confined to (`[docker] cpuset`, `[vm] cpu_pins`);
        None: not confined."""
        return None

    def confine(self, cpus: tuple[int, ...] | None) -> None:
        """Keep the platform's own instance on these host CPUs (None: back as the scenario
        placed it), where taskset inside cannot (a guest's vCPUs are not host CPUs)."""
        raise NotApplicable(f"platform {self.name} is placed with taskset (pins_own_servers)")

    def execute_as_service(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run argv as the unprivileged service user (SERVICE_UID) and wait."""
        return self.execute(as_service_user(argv), timeout)

    def service_dir(self, path: str) -> None:
        """Make path a directory of the service user's (its owner, mode 0700), where its
        servers keep their files: a server's user gets its directory by ownership, never by a
        world-writable mode."""
        uid = str(SERVICE_UID)
        install = ["install", "-d", "-o", uid, "-g", uid, "-m", "0700", path]
        self.execute(install, 60).check(self.name)

    def _spawn_service(self, argv: Sequence[str]) -> Background:
        """Start argv in the background as the service user (root drops to it here)."""
        return self._spawn(as_service_user(argv))

    @abc.abstractmethod
    def endpoint(self, port: int, variant: str) -> Endpoint:
        """Where a host client connects to reach `port` on the platform through `variant`."""

    @abc.abstractmethod
    def scratch(self, variant: str) -> ScratchDir:
        """A writable directory on the platform for disk workloads through `variant`."""

    def listen_host(self) -> str:
        """The address a server on the platform binds to (loopback where it shares the host's)."""
        return "0.0.0.0"  # noqa: S104 - inside the platform's own network namespace

    def tool_versions(self) -> dict[str, MetaValue]:
        """Each measuring tool's version as this platform runs it (the container image's, the
        guest's), as `tool_NAME`: the report warns when platforms of a run used other builds."""
        out: dict[str, MetaValue] = {}
        for tool in on_platforms():  # the servers' too: redis, nginx, postgres
            try:
                r = self.execute(tool.version, 60)
            except TriptychError:
                out[f"tool_{tool.name}"] = "unknown"
                continue
            ok = r.returncode == 0
            out[f"tool_{tool.name}"] = version_line(r.stdout, r.stderr) if ok else "missing"
        return out

    @abc.abstractmethod
    def metadata(self) -> dict[str, MetaValue]:
        """What a reader needs to trust a figure from this platform."""

    def check_alive(self) -> None:  # noqa: B027 - a hook; the host is always alive
        """Raise TriptychError saying why the started platform can no longer run commands (its
        container or guest died, its daemon went away)."""

    def healthy(self) -> bool:
        """Whether the started platform can still run commands."""
        try:
            self.check_alive()
        except TriptychError:
            return False
        return True

    def carriers(self) -> Carriers:
        """What carries the started instance on the host, for its rounds' host CPU (host_cpu.py):
        on the host, nothing but the run's own processes."""
        return Carriers()

    def new_instance(self, tag: str) -> Instance:
        """Another instance like the platform's own, started (not yet answering), named with
        `tag` under the session's prefix so that a run that dies leaves it to the sweep."""
        raise NotApplicable(f"platform {self.name} starts no instances of its own")

    def cold_start(self, timeout: float) -> ColdStart:
        """Start a fresh instance, time it until a command run inside answers, measure its
        memory, remove it."""
        raise NotApplicable(f"platform {self.name} has no startup to measure")

    def _started(self, thing: T | None) -> T:
        """What start() made, or an error if the platform is used before start()."""
        if thing is None:
            raise TriptychError(f"platform {self.name} used before start()")
        return thing

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_for_listen(platform: Platform, port: int, timeout: float, server: Background) -> None:
    """Wait until something listens on TCP `port` inside the platform (asked with `ss`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise TriptychError(
                f"server for port {port} on {platform.name} exited before it listened"
            )
        listening = platform.execute(["ss", "-Htln", f"sport = :{port}"], 30)
        if listening.returncode == 0 and listening.stdout.strip():
            return
        time.sleep(0.1)
    raise TriptychError(f"nothing listened on port {port} on {platform.name} within {timeout:g} s")


def check_variant(platform: Platform, variant: str, known: tuple[str, ...]) -> None:
    """Refuse a variant the platform does not have, naming the ones it does."""
    if variant not in known:
        raise TriptychError(
            f"platform {platform.name} has no variant {variant!r}; use one of {', '.join(known)}"
        )
