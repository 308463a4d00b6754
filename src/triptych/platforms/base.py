"""The Platform contract: start, run an argv, reach its servers, describe itself, stop."""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Protocol, Self

from triptych.errors import NotApplicable, TriptychError
from triptych.process import CommandResult
from triptych.sample import MetaValue, Sample


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


class Platform(abc.ABC):
    """One place to run workloads. Use it as a context manager: it stops even when start fails."""

    name: ClassVar[str]
    # Ways a host client reaches a server on this platform, and places disk I/O can land.
    network_variants: ClassVar[tuple[str, ...]]
    disk_variants: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def start(self) -> None:
        """Bring the platform up; raise PlatformUnavailable with the reason if it cannot."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Remove everything start created; safe to call twice and after a failed start."""

    @abc.abstractmethod
    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run argv on the platform and wait; kill it there if it outlives timeout."""

    @abc.abstractmethod
    def spawn(self, argv: Sequence[str]) -> Background:
        """Start argv on the platform in the background (a server)."""

    @abc.abstractmethod
    def endpoint(self, port: int, variant: str) -> Endpoint:
        """Where a host client connects to reach `port` on the platform through `variant`."""

    @abc.abstractmethod
    def scratch(self, variant: str) -> ScratchDir:
        """A writable directory on the platform for disk workloads through `variant`."""

    def listen_host(self) -> str:
        """The address a server on the platform binds to (loopback where it shares the host's)."""
        return "0.0.0.0"  # noqa: S104 - inside the platform's own network namespace

    @abc.abstractmethod
    def metadata(self) -> dict[str, MetaValue]:
        """What a reader needs to trust a figure from this platform."""

    def healthy(self) -> bool:
        """Whether the started platform can still run commands (a container or guest may die)."""
        return True

    def cold_start(self, timeout: float) -> list[Sample]:
        """Start a fresh instance, time it until a command answers, measure it, remove it."""
        raise NotApplicable(f"platform {self.name} has no startup to measure")

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
        listening = platform.run(["ss", "-Htln", f"sport = :{port}"], 30)
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
