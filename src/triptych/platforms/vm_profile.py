"""The guest a profile describes, resolved against the acceleration and the explicit [vm] settings.

`tuned` is the guest a performance engineer configures: the host's CPU model and a topology that
matches the vCPU count (Felter et al.: Linpack at 0.45x of native on a default, flat vCPU
configuration, 0.98x once the guest saw the host's CPU and topology), the q35 machine, an
iothread for the virtio disk, one virtio-net queue per vCPU, O_DIRECT native I/O, optional
hugepage backing. `default` is what libvirt and QEMU give without tuning (QEMU's qemu64 CPU
under KVM, i440fx, one queue, QEMU's writeback cache and thread-pool I/O), so the gap can be shown.
Explicit settings win over a profile's; the effective values are recorded with every sample.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from triptych.platforms.settings import VmSettings
from triptych.sample import MetaValue

QEMU_DEFAULT_CACHE = "writeback"  # what QEMU uses when the domain names no cache mode
QEMU_DEFAULT_IO = "threads"


@dataclass(frozen=True)
class GuestShape:
    """Everything the domain XML varies by profile, as it will be applied."""

    profile: str
    machine: str  # "q35" or "pc" (i440fx)
    cpu_passthrough: bool
    topology: tuple[int, int, int] | None  # sockets, cores, threads; None: QEMU's flat default
    iothread: bool
    queues: int  # virtio-net queues; 1 is a single queue
    hugepages: bool
    disk_cache: str | None  # None: no cache attribute (QEMU's default)
    disk_io: str | None
    cpu_pins: str | None
    not_applied: tuple[str, ...]

    def metadata(self) -> dict[str, MetaValue]:
        """The effective configuration, as every sample records it."""
        sockets, cores, threads = self.topology or (0, 0, 0)
        return {
            "vm_profile": self.profile,
            "machine": self.machine,
            "vm_cpu": "host-passthrough" if self.cpu_passthrough else "qemu default",
            "cpu_topology": f"{sockets}s{cores}c{threads}t" if self.topology else "flat",
            "disk_iothread": self.iothread,
            "net_queues": self.queues,
            "hugepages": self.hugepages,
            "disk_cache": self.disk_cache or QEMU_DEFAULT_CACHE,
            "disk_io": self.disk_io or QEMU_DEFAULT_IO,
            "cpu_pins": self.cpu_pins or "none",
            "profile_not_applied": "; ".join(self.not_applied) or "none",
        }


def host_threads_per_core() -> int:
    """SMT siblings per core on this host (1 without SMT)."""
    siblings = Path("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list")
    with contextlib.suppress(OSError, ValueError):
        count = 0
        for part in siblings.read_text().strip().split(","):
            low, _, high = part.partition("-")
            count += int(high or low) - int(low) + 1
        return max(count, 1)
    return 1


def topology(vcpus: int, host_threads: int) -> tuple[int, int, int]:
    """One socket; the host's threads per core where the vCPU count divides by it."""
    threads = host_threads if host_threads > 1 and vcpus % host_threads == 0 else 1
    return 1, vcpus // threads, threads


def effective_profile(settings: VmSettings, accel: str) -> str:
    """`auto` is `tuned` under KVM and `default` under TCG (no CPU passthrough there)."""
    if settings.profile != "auto":
        return settings.profile
    return "tuned" if accel == "kvm" else "default"


def resolve(settings: VmSettings, accel: str, host_threads: int) -> GuestShape:
    """The guest of this profile under this acceleration, explicit settings winning."""
    profile = effective_profile(settings, accel)
    s = settings
    if profile == "default":
        return GuestShape(
            profile, "pc", False, None, False, 1, s.hugepages, s.disk_cache, s.disk_io,
            s.cpu_pins, (),
        )  # fmt: skip
    missing = []
    if accel != "kvm":
        missing.append("host-passthrough CPU (TCG emulates its own CPU model)")
    cache = s.disk_cache or "none"
    io = s.disk_io or ("native" if cache in ("none", "directsync") else "threads")
    return GuestShape(
        profile,
        "q35",
        accel == "kvm",
        topology(s.vcpus, host_threads),
        True,
        s.vcpus,
        s.hugepages,
        cache,
        io,
        s.cpu_pins,
        tuple(missing),
    )


def hugepages_problem(memory_mib: int, meminfo: str) -> str | None:
    """Why the guest's memory cannot be backed by huge pages here (None: it can)."""
    fields: dict[str, int] = {}
    for line in meminfo.splitlines():
        name, _, rest = line.partition(":")
        with contextlib.suppress(ValueError, IndexError):
            fields[name.strip()] = int(rest.split()[0])
    free, size_kib = fields.get("HugePages_Free", 0), fields.get("Hugepagesize", 2048)
    need = -(-memory_mib * 1024 // size_kib)
    if free >= need:
        return None
    return (
        f"[vm] hugepages = true needs {need} free huge pages of {size_kib} KiB for "
        f"{memory_mib} MiB and the host has {free}; reserve them "
        f"(echo {need} > /proc/sys/vm/nr_hugepages) or set hugepages = false"
    )
