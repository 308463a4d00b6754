"""What each platform is, in one place: its name, layer, paths and which path is its own.

Read by the scenario loader and the plugin (names, variants) and by the Platform classes
(their variants and layer); the runner stores `primary` and `rank` in every case record, so the
report reads them from saved data and never from this module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformKind:
    """One platform: the variants a workload runs through, the first being the direct path."""

    name: str
    layer: str  # none | container | vm
    # Ways a host client reaches a server on it, and places disk I/O can land. The first of
    # each is the platform's own path (its address, a volume, its virtual disk) and gets the
    # platform's column; the others (a published port, the overlay layer) get columns of their own.
    network_variants: tuple[str, ...]
    disk_variants: tuple[str, ...]
    rank: int  # the order of columns in a report: host, then containers, then the VM
    cold_starts: bool  # whether it can start fresh instances of itself (startup workload)

    def variants(self, target: str) -> tuple[str, ...]:
        """The variants a workload of `target` (compute, disk, network, lifecycle) runs through."""
        if target == "lifecycle":
            return ("default",) if self.cold_starts else ()
        if target == "disk":
            return self.disk_variants
        if target == "network":
            return self.network_variants
        return ("default",)

    def primary(self, variant: str) -> bool:
        """Whether `variant` is the platform's own path (its column is the platform's)."""
        return variant in ("default", self.network_variants[0], self.disk_variants[0])


KINDS: dict[str, PlatformKind] = {
    k.name: k
    for k in (
        PlatformKind("host", "none", ("loopback",), ("host-fs",), 0, False),
        PlatformKind(
            "docker-bridge", "container", ("bridge-ip", "published"), ("volume", "overlay"), 2, True
        ),
        PlatformKind("docker-host", "container", ("host-net",), ("volume", "overlay"), 1, True),
        PlatformKind("vm", "vm", ("virtio-net",), ("virtio-disk",), 3, True),
    )
}
PLATFORM_NAMES = tuple(KINDS)
