"""Which Platform class serves each platform name, and how to build one from settings.

The classes are imported when a platform is made, not before: loading the plugin and a scenario
never imports the Docker SDK or libvirt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from triptych.errors import PlatformUnavailable
from triptych.platforms.base import Platform
from triptych.platforms.settings import EngineSettings


@dataclass(frozen=True)
class PlatformSettings:
    """What every platform may need from the run: where scratch files go, and the session id."""

    session: str
    scratch_root: Path
    server_ports: tuple[int, ...]


def make_platform(name: str, settings: PlatformSettings, engines: EngineSettings) -> Platform:
    if name == "host":
        from triptych.platforms.host import HostPlatform  # noqa: PLC0415 - see module docstring

        return HostPlatform(settings.session, settings.scratch_root)
    if name == "vm":
        from triptych.platforms.vm import VmPlatform  # noqa: PLC0415

        return VmPlatform(settings.session, engines.vm)
    if name in ("docker-bridge", "docker-host"):
        from triptych.platforms.docker import DOCKER_PLATFORMS  # noqa: PLC0415

        return DOCKER_PLATFORMS[name](settings.session, settings.server_ports, engines.docker)
    raise PlatformUnavailable(f"platform {name} is not implemented in this version of triptych")
