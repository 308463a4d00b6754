"""What Docker says of a container, read and checked: its creation as recorded, its address on
the bridge, and the port it published on loopback."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import psutil
from docker.models.containers import Container

from triptych.errors import TriptychError
from triptych.platforms.addresses import LOOPBACK, AddressPool

# A Linux interface name (IFNAMSIZ less its terminator), as Docker's bridge option names one.
_INTERFACE = re.compile(r"[A-Za-z0-9_.-]{1,15}")


def bridge_addresses(attrs: dict[str, Any]) -> list[str]:
    """The IPv4 addresses the host's interface of a bridge network holds (the interface its
    options name, `com.docker.network.bridge.name`), read from the kernel, not from Docker."""
    options = attrs.get("Options")
    name = options.get("com.docker.network.bridge.name") if isinstance(options, dict) else None
    if not isinstance(name, str) or not _INTERFACE.fullmatch(name):
        return []
    held = psutil.net_if_addrs().get(name, [])
    return [a.address for a in held if a.family == socket.AF_INET]


def container_address(container: Container, pool: AddressPool | None) -> str:
    """Where a client on the host reaches a server in the container: the address Docker gives
    it on the bridge, if it is one of the bridge's; loopback in the host's network (pool None)."""
    if pool is None:
        return LOOPBACK
    container.reload()
    settings = container.attrs.get("NetworkSettings")
    reported = settings.get("IPAddress") if isinstance(settings, dict) else None
    return pool.check(reported, f"Docker, for container {container.name},")


def published_port(attrs: dict[str, Any], port: int, name: str) -> int:
    """The host port on loopback that Docker published the container's `port` on."""
    settings = attrs.get("NetworkSettings")
    ports = settings.get("Ports") if isinstance(settings, dict) else None
    bindings = ports.get(f"{port}/tcp") if isinstance(ports, dict) else None
    for b in bindings if isinstance(bindings, list) else []:
        if isinstance(b, dict) and b.get("HostIp") == LOOPBACK:
            text = str(b.get("HostPort"))
            if text.isdigit() and 0 < int(text) < 65536:
                return int(text)
    raise TriptychError(f"port {port} is not published on {LOOPBACK} by {name}")


# What of a container's creation shapes its figures (Docker's HostConfig names), as recorded.
CREATE_KEYS = (
    "NetworkMode", "Privileged", "CapDrop", "CapAdd", "SecurityOpt", "NanoCpus", "CpusetCpus",
    "CpuShares", "CpuQuota", "CpuPeriod", "Memory", "MemorySwap", "ShmSize", "IpcMode", "PidMode",
    "UsernsMode", "Runtime", "CgroupnsMode", "OomKillDisable", "PidsLimit",
)  # fmt: skip


def create_config(attrs: dict[str, Any]) -> str:
    """The container's creation as Docker recorded it, in the keys that shape its figures (no
    names, ids or paths: equal configurations compare equal)."""
    host = attrs.get("HostConfig") or {}
    chosen = {k: host.get(k) for k in CREATE_KEYS if host.get(k) not in (None, "", [], 0)}
    chosen["User"] = (attrs.get("Config") or {}).get("User", "")
    return json.dumps(chosen, sort_keys=True)
