"""What a scenario says about the engines: container and guest settings, each field with the
rules `triptych.validate.build` enforces. Imports neither the Docker SDK nor libvirt."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from triptych.platforms.catalog import DOCKER_BRIDGE, KINDS, VM
from triptych.platforms.runtimes import DEFAULT_RUNTIME, RUNTIMES
from triptych.sample import MetaValue
from triptych.validate import Problem, setting

VM_PROFILES = ("tuned", "default")
CPU_LIST = re.compile(r"^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$")
CPU_PINS = re.compile(r"^[0-9]+(,[0-9]+)*$")  # one host CPU per vCPU: no ranges
MEMORY = re.compile(r"^[1-9][0-9]*[bkmgBKMG]?$")
IMAGE = re.compile(r"^\S+$")


def cpu_list(text: str) -> tuple[int, ...]:
    """CPUs of a list like "0-2,5" (Docker's cpuset) or "0,1" (the VM's pins)."""
    cpus: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return tuple(sorted(cpus))


def host_cpus_problem(key: str, text: str) -> Iterator[Problem]:
    """A CPU list naming CPUs this machine does not let the suite use."""
    allowed = set(os.sched_getaffinity(0))
    parts = [p.partition("-") for p in text.split(",")]
    if any(len(low) > 4 or len(high) > 4 for low, _, high in parts):
        yield Problem(key, f"{text!r} names CPUs beyond this machine's", _cpus_fix(allowed))
        return
    if any(high and int(high) < int(low) for low, _, high in parts):
        yield Problem(key, f"{text!r} has a range that runs backwards", 'write ranges as "0-1"')
        return
    beyond = sorted(set(cpu_list(text)) - allowed)
    if beyond:
        shown = ",".join(map(str, beyond[:8]))
        yield Problem(key, f"CPU(s) {shown} are not among this machine's", _cpus_fix(allowed))


def _cpus_fix(allowed: set[int]) -> str:
    return f"use CPUs this machine has ({','.join(map(str, sorted(allowed)))})"


@dataclass(frozen=True)
class DockerSettings:
    """Per-scenario container settings: an image of the user's own, and resource limits."""

    image: str | None = setting(
        None, pattern=IMAGE, what="an image name", fix="name a local image or remove the key"
    )
    cpus: float | None = setting(None, low=0.01, high=1024)
    cpuset: str | None = setting(
        None, pattern=CPU_LIST, what="a CPU list", fix='write it like "0" or "0-1" or "0,2"'
    )
    memory: str | None = setting(
        None, pattern=MEMORY, what="a memory size", fix='write it like "512m" or "2g"'
    )
    runtime: str = setting(DEFAULT_RUNTIME, choices=tuple(RUNTIMES))

    def problems(self) -> Iterator[Problem]:
        if self.cpuset is not None:
            yield from host_cpus_problem("cpuset", self.cpuset)

    def metadata(self) -> dict[str, MetaValue]:
        return {
            "runtime": self.runtime,
            "limit_cpus": self.cpus if self.cpus is not None else "none",
            "limit_cpuset": self.cpuset or "none",
            "limit_memory": self.memory or "none",
        }


@dataclass(frozen=True)
class VmSettings:
    """Per-scenario guest settings. Unset disk and CPU choices come from the profile
    (platforms/vm_profile.py); what is set here wins over it."""

    acceleration: str = setting("auto", choices=("auto", "kvm", "qemu"))
    # tuned (the default under KVM) or default (libvirt's and QEMU's untuned guest, the default
    # under TCG, where CPU passthrough is impossible).
    profile: str = setting("auto", choices=("auto", *VM_PROFILES))
    hugepages: bool = setting(False)
    vcpus: int = setting(2, low=1, high=256)
    memory_mib: int = setting(2048, low=256, high=1_048_576, unit=" MiB")
    # Host CPUs for vCPU 0, 1, ...: "0,1" pins vCPU 0 to CPU 0 and vCPU 1 to CPU 1.
    cpu_pins: str | None = setting(
        None,
        pattern=CPU_PINS,
        what="a list of single CPUs",
        fix='give one host CPU per vCPU, like "0,1"',
    )
    disk_cache: str | None = setting(
        None, choices=("none", "writeback", "writethrough", "directsync", "unsafe")
    )
    disk_io: str | None = setting(None, choices=("native", "threads", "io_uring"))
    kernel: str | None = setting(None, existing_file=True)
    initrd: str | None = setting(None, existing_file=True)
    disk: str | None = setting(None, existing_file=True)

    def problems(self) -> Iterator[Problem]:
        """Rules across fields, each valid alone."""
        if self.cpu_pins is not None:
            yield from host_cpus_problem("cpu_pins", self.cpu_pins)
        if self.cpu_pins is not None and len(self.cpu_pins.split(",")) != self.vcpus:
            yield Problem(
                "cpu_pins",
                f"{len(self.cpu_pins.split(','))} CPU(s) for {self.vcpus} vCPU(s)",
                "list one host CPU per vCPU (as many as vm.vcpus)",
            )
        if self.disk_io == "native" and self.disk_cache not in (None, "none", "directsync"):
            yield Problem(
                "disk_io",
                'native I/O needs disk_cache = "none" or "directsync"',
                'set disk_io = "threads" or change disk_cache',
            )
        if self.initrd is not None and self.kernel is None:
            yield Problem("initrd", "an initrd without a kernel", "add vm.kernel too")
        if self.disk is not None and self.kernel is None:
            yield Problem(
                "disk",
                "a disk of your own needs its kernel",
                "add vm.kernel (and vm.initrd) that boot it",
            )

    def metadata(self) -> dict[str, MetaValue]:
        """What the profile does not decide (its effective choices: GuestShape.metadata)."""
        return {
            "vcpus": self.vcpus,
            "memory_mib": self.memory_mib,
            "guest_kernel": self.kernel or "suite",
            "guest_disk": self.disk or "suite",
        }


@dataclass(frozen=True)
class EngineSettings:
    """What a scenario says about the engines: container and guest settings, and the guest
    profiles to run side by side (`[vm] profiles`; empty: the one `[vm] profile`)."""

    docker: DockerSettings = field(default_factory=DockerSettings)
    vm: VmSettings = field(default_factory=VmSettings)
    vm_profiles: tuple[str, ...] = ()
    docker_runtimes: tuple[str, ...] = ()  # `[docker] runtimes`; empty: the one `runtime`

    def with_vm_profile(self, profile: str) -> EngineSettings:
        """These settings with the guest of one profile (one of `vm_profiles`)."""
        return replace(self, vm=replace(self.vm, profile=profile))

    def with_instance(self, name: str, value: str) -> EngineSettings:
        """These settings for one side-by-side instance of platform `name` (`value`: one of
        side_by_side(name), a guest profile or a container runtime)."""
        kind = KINDS[name]
        if kind.settings == VM.settings:
            return self.with_vm_profile(value)
        return replace(self, docker=replace(self.docker, runtime=value))

    def for_platform(self, name: str) -> DockerSettings | VmSettings | None:
        """The part that shapes platform `name` (None: nothing does): its catalog's table."""
        kind = KINDS.get(name)
        tables: dict[str, DockerSettings | VmSettings] = {
            DOCKER_BRIDGE.settings: self.docker,
            VM.settings: self.vm,
        }
        return tables.get(kind.settings) if kind is not None else None

    def side_by_side(self, name: str) -> tuple[str, ...]:
        """What platform `name` runs once per, side by side, each its own column (the guest
        profiles of `[vm] profiles`); (): it runs once."""
        kind = KINDS.get(name)
        lists = {
            (VM.settings, VM.side_by_side): self.vm_profiles,
            (DOCKER_BRIDGE.settings, DOCKER_BRIDGE.side_by_side): self.docker_runtimes,
        }
        return lists.get((kind.settings, kind.side_by_side), ()) if kind is not None else ()
