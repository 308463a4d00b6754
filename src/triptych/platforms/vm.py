"""A libvirt guest as a platform: provisioned by the suite, reached through the guest agent.

The domain is transient (createXML), named with the suite's prefix and marked with its metadata;
its disk is a per-session qcow2 overlay on the shared base image; its NIC sits on an isolated
network the suite defines for the session.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self

import libvirt

from triptych.cleanup import report_swept
from triptych.errors import PlatformUnavailable, TriptychError
from triptych.host_cpu import Carriers
from triptych.images import DEFAULT_CACHE, RootfsRecipe
from triptych.platforms import libvirt_conn
from triptych.platforms.addresses import AddressPool, guest_pool
from triptych.platforms.base import (
    ColdStart,
    Endpoint,
    Platform,
    PlatformSettings,
    ScratchDir,
    check_variant,
)
from triptych.platforms.catalog import VM
from triptych.platforms.guest import Guest, choose_acceleration
from triptych.platforms.guest_agent import GuestProcess
from triptych.platforms.libvirt_conn import connect
from triptych.platforms.libvirt_sweep import SESSIONS_DIR, claim_session_dir, sweep_libvirt
from triptych.platforms.settings import EngineSettings, VmSettings, cpu_list
from triptych.platforms.vm_profile import (
    GuestShape,
    host_threads_per_core,
    hugepages_problem,
    resolve,
)
from triptych.platforms.vm_xml import domain_xml, network_xml, neutral_xml, session_subnet
from triptych.process import CommandResult
from triptych.sample import MetaValue
from triptych.vm_image import GuestBoot, guest_boot, session_overlay

GUEST_SCRATCH = "/var/tmp/triptych"  # noqa: S108 - inside the suite's own guest
BOOT_TIMEOUT = 300.0
BOOT_ATTEMPTS = 2
# libvirt's daemons: what they spend during a round is the platform's (host_cpu.py).
LIBVIRT_ENGINES = frozenset({"libvirtd", "virtlogd"})
AGENT_SETTLE = 3.0  # seconds libvirt may take to record a guest's end after its agent vanished


class VmPlatform(Platform):
    """A guest booted for the session; servers in it are reached over the suite's network."""

    name: ClassVar[str] = VM.name
    pins_own_servers: ClassVar[bool] = False
    engine_gone: ClassVar[str] = "libvirtd is gone"

    @classmethod
    def create(cls, settings: PlatformSettings, engines: EngineSettings) -> Self:
        return cls(settings.session, engines.vm)

    def __init__(self, session: str, settings: VmSettings, cache: Path = DEFAULT_CACHE) -> None:
        super().__init__(session)
        self.settings = settings
        self.cache = cache
        self.accel, self.accel_reason = "", ""
        self._conn: libvirt.virConnect | None = None
        self._network: libvirt.virNetwork | None = None
        self._guest: Guest | None = None
        # Every name of this guest's network, disks and domains: one per guest profile, so the
        # VMs of `[vm] profiles` run side by side in one session (the sweep matches the prefix).
        suffix = f"-{settings.profile}" if settings.profile != "auto" else ""
        self.instance_prefix = f"{self.session_prefix}{suffix}"
        self._dir = SESSIONS_DIR / self.instance_prefix
        self._address = ""
        self._pool: AddressPool | None = None
        self._boot: GuestBoot | None = None
        self._cold = 0
        self.boot_seconds = 0.0
        self.boot_attempts = 0
        self._guest_kernel = ""
        self._owns_dir = False
        self.shape: GuestShape | None = None
        self._domain_xml = ""
        self._vhost = False

    def _boot_files(self) -> GuestBoot:
        s = self.settings
        if s.disk is None:
            boot = guest_boot(RootfsRecipe(), self.cache)
        else:
            boot = GuestBoot(
                Path(s.disk), Path(s.kernel or ""), Path(s.initrd) if s.initrd else None
            )
        if s.kernel:
            boot = GuestBoot(boot.base, Path(s.kernel), Path(s.initrd) if s.initrd else None)
        for p in (boot.base, boot.kernel, boot.initrd):
            if p is not None and not p.is_file():
                raise PlatformUnavailable(
                    f"guest file {p} does not exist; fix [vm] in the scenario"
                )
        return boot

    def _start_guest(self, tag: str) -> Guest:
        conn, network = self._started(self._conn), self._started(self._network)
        boot = self._started(self._boot)
        disk = session_overlay(boot.base, self._dir, tag)
        xml = domain_xml(
            f"{self.instance_prefix}-{tag}",
            self.session,
            self.accel,
            self.settings,
            self._started(self.shape),
            boot,
            disk,
            network.name(),
        )
        try:
            return Guest(conn, xml)
        except libvirt.libvirtError as e:
            raise PlatformUnavailable(
                f"libvirt could not start the guest: {e.get_error_message()}"
            ) from None

    def start(self) -> None:
        self.accel, self.accel_reason = choose_acceleration(self.settings.acceleration)
        self.shape = resolve(self.settings, self.accel, host_threads_per_core())
        if self.shape.hugepages:
            problem = hugepages_problem(self.settings.memory_mib, Path("/proc/meminfo").read_text())
            if problem:
                raise PlatformUnavailable(problem)
        self._conn = connect()
        report_swept(sweep_libvirt(self._conn))
        self._boot = self._boot_files()
        # Who owns the session's network and disks, for the sweep after a run that died.
        self._owns_dir = claim_session_dir(self._dir)
        net = session_subnet(self.instance_prefix)
        self._pool = guest_pool(net)
        bridge = "tt" + hashlib.sha256(self.instance_prefix.encode()).hexdigest()[:10]
        try:
            self._network = self._conn.networkCreateXML(
                network_xml(self.instance_prefix, bridge, net)
            )
        except libvirt.libvirtError as e:
            raise PlatformUnavailable(
                f"libvirt could not create the suite's network: {e.get_error_message()}"
            ) from None
        guest = self._boot_until_agent()
        # The agent answers before boot settles: wait for systemd before measuring anything.
        guest.agent.run(["systemctl", "is-system-running", "--wait"], BOOT_TIMEOUT, self.name)
        self._address = guest.address(self._pool)
        self._guest_kernel = self.execute(["uname", "-r"], 60).check(self.name).stdout.strip()
        self._domain_xml = neutral_xml(guest.live_xml(), self.instance_prefix)
        self._vhost = guest.uses_vhost_net()
        self.execute(["mkdir", "-p", GUEST_SCRATCH], 60).check(self.name)

    def _boot_until_agent(self) -> Guest:
        """Boot the guest until its agent answers. Under emulation a boot very rarely hangs
        (seen once in CI: no agent after 300 s, where boots take ~16 s): a guest silent for
        half the boot timeout is destroyed and booted once more, and the record says so."""
        for attempt in range(1, BOOT_ATTEMPTS + 1):
            self._guest = self._start_guest(self.name)
            try:
                self.boot_seconds = self._guest.wait_for_agent(BOOT_TIMEOUT / BOOT_ATTEMPTS)
            except PlatformUnavailable:
                if attempt == BOOT_ATTEMPTS:
                    raise
                self._guest.destroy()
                self._guest = None
                continue
            self.boot_attempts = attempt
            return self._guest
        raise AssertionError("unreachable: the last attempt returns or raises")

    def release(self) -> list[str]:
        left = []
        if self._guest is not None:
            if not self._guest.destroy():
                left.append(f"guest {self._guest.name}")
            self._guest = None
        if self._network is not None:
            try:
                self._network.destroy()
            except libvirt.libvirtError:
                if self._conn is not None and not libvirt_conn.alive(self._conn):
                    left.append(f"network {self.instance_prefix}")
            self._network = None
        if left:
            # The owner record stays, so the next run (or `triptych clean`) finds them; a second
            # stop() (the pool's, at the end) must not remove it either.
            self._owns_dir = False
        elif self._owns_dir:
            shutil.rmtree(self._dir, ignore_errors=True)
        if self._conn is not None:
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.close()
            self._conn = None
        return left

    def carriers(self) -> Carriers:
        """The guest's QEMU (its vCPU threads carry the guest, the others are the platform's,
        with its vhost threads) and libvirt's daemons."""
        proc = self._started(self._guest).qemu_process()
        return Carriers(vmm=(proc.pid,) if proc is not None else (), engines=LIBVIRT_ENGINES)

    def check_alive(self) -> None:
        self._started(self._guest).check_running()

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        guest = self._started(self._guest)
        guest.check_running()
        try:
            return guest.agent.run(argv, timeout, self.name)
        except TriptychError:
            # A destroyed guest says so, not just "agent error": its agent can vanish a moment
            # before libvirt records the guest's end.
            guest.check_running(settle=AGENT_SETTLE)
            raise

    def pinned_cpus(self) -> tuple[int, ...] | None:
        return cpu_list(self.settings.cpu_pins) if self.settings.cpu_pins else None

    def confine(self, cpus: tuple[int, ...] | None) -> None:
        """Every vCPU of the guest on these host CPUs; None: as the scenario pins them (vCPU i
        on `cpu_pins`' i-th CPU), or on every CPU the suite may use."""
        guest = self._started(self._guest)
        if cpus is not None:
            guest.pin_vcpus(cpus)
            return
        pins = self.pinned_cpus()
        if not pins:
            guest.pin_vcpus(tuple(sorted(os.sched_getaffinity(0))))
            return
        guest.pin_each([(cpu,) for cpu in pins])

    def _spawn(self, argv: Sequence[str]) -> GuestProcess:
        return GuestProcess(self._started(self._guest).agent, argv)

    def endpoint(self, port: int, variant: str) -> Endpoint:
        check_variant(self, variant, self.network_variants)
        return Endpoint(variant, self._address, port)

    def scratch(self, variant: str) -> ScratchDir:
        check_variant(self, variant, self.disk_variants)
        return ScratchDir(variant, GUEST_SCRATCH)

    def cold_start(self, timeout: float) -> ColdStart:
        """A fresh guest like ours: create -> a command run by its agent answering, and the
        resident memory of its QEMU process."""
        self._cold += 1
        fresh = self.new_instance(f"cold{self._cold}")
        try:
            seconds = fresh.guest.wait_for_command(max(timeout, BOOT_TIMEOUT))
            rss = fresh.guest.qemu_rss_bytes()
        finally:
            fresh.remove()
        return ColdStart(seconds, rss, "QEMU process RSS")

    def new_instance(self, tag: str) -> GuestInstance:
        """A guest like ours, booting, on the suite's network, with a disk of its own."""
        pool = self._started(self._pool)
        return GuestInstance(self._start_guest(tag), self._dir / f"{tag}.qcow2", pool)

    def metadata(self) -> dict[str, MetaValue]:
        meta: dict[str, MetaValue] = {
            "platform": self.name,
            "layer": self.kind.layer,
            "acceleration": "kvm" if self.accel == "kvm" else "tcg",
            "emulated": self.accel != "kvm",
            "acceleration_reason": self.accel_reason,
            "boot_seconds": round(self.boot_seconds, 3),
            "boot_attempts": self.boot_attempts,
            "guest_kernel_release": self._guest_kernel,
            **self.settings.metadata(),
            **(self.shape.metadata() if self.shape else {}),
            "vhost_net": self._vhost,
            "domain_xml": self._domain_xml,
        }
        if self._conn is not None:
            with contextlib.suppress(libvirt.libvirtError):
                meta["libvirt_version"] = _version(self._conn.getLibVersion())
                meta["qemu_version"] = _version(self._conn.getVersion())
        return meta


def _version(n: int) -> str:
    return f"{n // 1_000_000}.{n // 1000 % 1000}.{n % 1000}"


class GuestInstance:
    """A booting guest and its disk (Instance)."""

    work_dir = "/var/tmp"  # noqa: S108 - inside the guest, on its own disk (its /tmp is tmpfs)

    def __init__(self, guest: Guest, disk: Path, pool: AddressPool) -> None:
        self.guest = guest
        self.disk = disk
        self.pool = pool
        self.name = guest.name

    def wait_until_answers(self, timeout: float) -> None:
        self.guest.wait_for_command(timeout)

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        self.guest.check_running()
        return self.guest.agent.run(argv, timeout, self.name)

    def pin(self, cpus: tuple[int, ...]) -> None:
        self.guest.pin_vcpus(cpus)

    def address(self) -> str:
        return self.guest.address(self.pool)

    def host_pids(self) -> list[int]:
        proc = self.guest.qemu_process()
        return [proc.pid] if proc is not None else []

    def remove(self) -> bool:
        gone = self.guest.destroy()
        self.disk.unlink(missing_ok=True)
        return gone
