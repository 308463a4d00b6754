"""Which Platform class serves each platform name, and how to build one from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from triptych.errors import PlatformUnavailable
from triptych.platforms.base import Platform
from triptych.platforms.docker import DockerBridgePlatform, DockerHostPlatform, DockerSettings
from triptych.platforms.host import HostPlatform
from triptych.platforms.vm import VmPlatform, VmSettings


@dataclass(frozen=True)
class PlatformSettings:
    """What every platform may need from the run: where scratch files go, and the session id."""

    session: str
    scratch_root: Path
    server_ports: tuple[int, ...]


def variants(name: str, target: str) -> tuple[str, ...]:
    """The variants a workload of `target` runs through on platform `name`."""
    cls = _CLASSES.get(name)
    if target == "lifecycle":
        return () if name == "host" else ("default",)
    if cls is None or target == "compute":
        return ("default",)
    return cls.disk_variants if target == "disk" else cls.network_variants


@dataclass(frozen=True)
class EngineSettings:
    """What a scenario says about the engines: container and guest settings."""

    docker: DockerSettings = field(default_factory=DockerSettings)
    vm: VmSettings = field(default_factory=VmSettings)

    def for_platform(self, name: str) -> DockerSettings | VmSettings | None:
        """The part that shapes platform `name` (None: nothing does)."""
        if name.startswith("docker-"):
            return self.docker
        return self.vm if name == "vm" else None


def make_platform(name: str, settings: PlatformSettings, engines: EngineSettings) -> Platform:
    docker = engines.docker
    if name == "vm":
        return VmPlatform(settings.session, engines.vm)
    if name == "host":
        return HostPlatform(settings.scratch_root, settings.session)
    if name == "docker-bridge":
        return DockerBridgePlatform(settings.session, settings.server_ports, docker)
    if name == "docker-host":
        return DockerHostPlatform(settings.session, settings.server_ports, docker)
    raise PlatformUnavailable(f"platform {name} is not implemented in this version of triptych")


_CLASSES: dict[str, type[Platform]] = {
    "host": HostPlatform,
    "docker-bridge": DockerBridgePlatform,
    "docker-host": DockerHostPlatform,
    "vm": VmPlatform,
}
