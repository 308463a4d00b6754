"""Every platform, declared once: its name, layer, paths and which path is its own, its column
order, the scenario table that shapes it, the class that runs it (imported only when one is
made), what removes its leftovers, and what the report says it is.

The registry, the scenario's keys, the plugin, `triptych clean`, the platform classes and the
report read this table; the runner stores `primary` and `rank` in every case record, so the
report reads them from saved data and never from this module. No import here but the standard
library: the plugin and the scenario loader read it without the engines' libraries.
"""

from __future__ import annotations

from dataclasses import dataclass

CGROUP = "cgroup"  # the host's isolation variant: its two processes in cgroups of their own


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
    # "module:Class" of its Platform, imported when one is made (Platform.create builds it).
    runs_on: str
    # "module:function(session, scratch) -> removed" that removes what dead runs left of it.
    cleaner: str
    description: str  # what the report says its column is
    # The scenario table whose settings shape it ("docker", "vm"; "": none), and the key of
    # that table whose list runs it once per entry, side by side ("profiles"; "": none).
    settings: str = ""
    side_by_side: str = ""
    # How an isolation case (a victim beside a neighbour) runs on it: its own way ("default")
    # and, on the host, again with cgroup limits alone ("cgroup").
    isolation_variants: tuple[str, ...] = ("default",)

    def variants(self, target: str) -> tuple[str, ...]:
        """The variants a workload of `target` (compute, disk, network, lifecycle, isolation)
        runs through."""
        if target == "isolation":
            return self.isolation_variants
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


HOST = PlatformKind(
    "host",
    "none",
    ("loopback",),
    ("host-fs",),
    0,
    False,
    "triptych.platforms.host:HostPlatform",
    "triptych.platforms.host_sweep:clean_host",
    "the machine itself: the baseline every cost is against; (cgroup), in isolation cases, is "
    "the same two processes each in a cgroup of its own with a container's limits ([docker] "
    "cpus, cpuset, memory) and nothing else of a container",
    isolation_variants=("default", CGROUP),
)
DOCKER_BRIDGE = PlatformKind(
    "docker-bridge",
    "container",
    ("bridge-ip", "published"),
    ("volume", "overlay"),
    2,
    True,
    "triptych.platforms.docker:DockerBridgePlatform",
    "triptych.platforms.docker_sweep:clean_docker",
    "a Docker container on the default bridge, reached at its own address, its disk a Docker "
    "volume; (published) is a port published on 127.0.0.1 through Docker's proxy, (overlay) the "
    "container's own filesystem layer",
    settings="docker",
    side_by_side="runtimes",
)
DOCKER_HOST = PlatformKind(
    "docker-host",
    "container",
    ("host-net",),
    ("volume", "overlay"),
    1,
    True,
    "triptych.platforms.docker:DockerHostPlatform",
    "triptych.platforms.docker_sweep:clean_docker",
    "a Docker container in the host's network namespace (--net=host), its disk a Docker volume; "
    "(overlay) is the container's own filesystem layer",
    settings="docker",
    side_by_side="runtimes",
)
VM = PlatformKind(
    "vm",
    "vm",
    ("virtio-net",),
    ("virtio-disk",),
    3,
    True,
    "triptych.platforms.vm:VmPlatform",
    "triptych.platforms.libvirt_sweep:clean_libvirt",
    "a libvirt guest (KVM, or QEMU's emulation where KVM cannot run it), reached through its "
    "virtio NIC, its disk a virtio disk",
    settings="vm",
    side_by_side="profiles",
)

KINDS: dict[str, PlatformKind] = {k.name: k for k in (HOST, DOCKER_BRIDGE, DOCKER_HOST, VM)}
BASELINE = HOST.name  # the column every cost is against
# The scenario tables that shape platforms, once each ("docker", "vm").
SETTINGS_TABLES = tuple(dict.fromkeys(k.settings for k in KINDS.values() if k.settings))
