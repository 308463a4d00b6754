"""A libvirt guest as a platform: provisioned by the suite, reached through the guest agent.

The domain is transient (createXML), named with the suite's prefix and marked with its metadata;
its disk is a per-session qcow2 overlay on the shared base image; its NIC sits on an isolated
network the suite defines for the session.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from xml.sax.saxutils import escape, quoteattr

import libvirt
import psutil

from triptych.cleanup import OWNER_FILE, report_left, report_swept, sweep_libvirt
from triptych.errors import PlatformUnavailable, TriptychError
from triptych.images import DEFAULT_CACHE, RootfsRecipe
from triptych.platforms import libvirt_conn
from triptych.platforms.base import Endpoint, Platform, ScratchDir, check_variant
from triptych.platforms.guest_agent import Agent, GuestProcess
from triptych.platforms.libvirt_conn import NAMESPACE, SESSIONS_DIR, connect
from triptych.process import CommandResult
from triptych.sample import MetaValue, Sample
from triptych.session import NAME_PREFIX, owner
from triptych.vm_image import GuestBoot, guest_boot, session_overlay

GUEST_SCRATCH = "/var/tmp/triptych"  # noqa: S108 - inside the suite's own guest
BOOT_TIMEOUT = 300.0
STATES = {
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutting down",
    libvirt.VIR_DOMAIN_SHUTOFF: "shut off",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "suspended",
}


@dataclass(frozen=True)
class VmSettings:
    """Per-scenario guest settings."""

    acceleration: str = "auto"  # auto | kvm | qemu
    vcpus: int = 2
    memory_mib: int = 2048
    cpu_pins: str | None = None  # host CPUs for vCPU 0, 1, ...: "0,1"
    disk_cache: str = "none"
    disk_io: str = "native"
    kernel: str | None = None
    initrd: str | None = None
    disk: str | None = None

    def metadata(self) -> dict[str, MetaValue]:
        return {
            "vcpus": self.vcpus,
            "memory_mib": self.memory_mib,
            "cpu_pins": self.cpu_pins or "none",
            "disk_cache": self.disk_cache,
            "disk_io": self.disk_io,
            "guest_kernel": self.kernel or "suite",
            "guest_disk": self.disk or "suite",
        }


def kvm_usable() -> tuple[bool, str]:
    """Whether hardware virtualisation can boot a stock guest kernel here, and why not."""
    if not os.path.exists("/dev/kvm"):
        return False, "/dev/kvm is missing"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is not accessible"
    if os.path.exists("/sys/module/kvm_pvm"):
        # Nested PVM: only PVM-built guest kernels boot; a stock kernel hangs after the BIOS.
        return False, "/dev/kvm is nested PVM, where stock guest kernels cannot boot"
    return True, "hardware virtualisation available"


def choose_acceleration(requested: str) -> tuple[str, str]:
    """(`kvm` or `qemu`, reason). `auto` picks kvm only where it can boot our guest."""
    if requested == "qemu":
        return "qemu", "requested"
    ok, why = kvm_usable()
    if requested == "kvm":
        if not ok:
            raise PlatformUnavailable(
                f'acceleration kvm requested but {why}; use acceleration = "auto" or "qemu"'
            )
        return "kvm", why
    return ("kvm", why) if ok else ("qemu", f"{why}: using TCG emulation")


def session_subnet(session: str) -> ipaddress.IPv4Network:
    """A /24 for the session's isolated network, avoiding every route the host already has."""
    taken = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            f = line.split()
            dest, mask = int(f[1], 16), int(f[7], 16)
            taken.append(
                ipaddress.IPv4Network(
                    (ipaddress.IPv4Address(dest.to_bytes(4, "little")), bin(mask).count("1")),
                    strict=False,
                )
            )
    start = int(hashlib.sha256(session.encode()).hexdigest(), 16) % 200
    for i in range(250):
        net = ipaddress.IPv4Network(f"10.213.{(start + i) % 250 + 1}.0/24")
        if not any(net.overlaps(t) for t in taken if t.prefixlen > 0):
            return net
    raise PlatformUnavailable("no free 10.213.x.0/24 subnet for the suite's VM network")


def network_xml(name: str, bridge: str, net: ipaddress.IPv4Network) -> str:
    hosts = list(net.hosts())
    # No <forward>: an isolated network, reachable from the host and from nowhere else.
    return f"""<network>
  <name>{escape(name)}</name>
  <bridge name={quoteattr(bridge)} stp="off"/>
  <ip address="{hosts[0]}" netmask="{net.netmask}">
    <dhcp><range start="{hosts[9]}" end="{hosts[99]}"/></dhcp>
  </ip>
</network>"""


def domain_xml(
    name: str, session: str, accel: str, s: VmSettings, boot: GuestBoot, disk: Path, network: str
) -> str:
    console = disk.with_suffix(".console.log")
    pins = ""
    if s.cpu_pins:
        cpus = s.cpu_pins.split(",")
        pins = (
            "<cputune>"
            + "".join(f'<vcpupin vcpu="{i}" cpuset={quoteattr(c)}/>' for i, c in enumerate(cpus))
            + "</cputune>"
        )
    initrd = f"<initrd>{escape(str(boot.initrd))}</initrd>" if boot.initrd else ""
    return f"""<domain type="{accel}">
  <name>{escape(name)}</name>
  <metadata><triptych:suite xmlns:triptych="{NAMESPACE}" session={quoteattr(session)}
    owner={quoteattr(owner())}/></metadata>
  <memory unit="MiB">{s.memory_mib}</memory>
  <vcpu placement="static">{s.vcpus}</vcpu>
  {pins}
  <os>
    <type arch="x86_64" machine="pc">hvm</type>
    <kernel>{escape(str(boot.kernel))}</kernel>
    {initrd}
    <cmdline>root=/dev/vda rw console=ttyS0</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2" cache={quoteattr(s.disk_cache)} io={quoteattr(s.disk_io)}/>
      <source file={quoteattr(str(disk))}/>
      <target dev="vda" bus="virtio"/>
    </disk>
    <interface type="network">
      <source network={quoteattr(network)}/>
      <model type="virtio"/>
    </interface>
    <channel type="unix">
      <target type="virtio" name="org.qemu.guest_agent.0"/>
    </channel>
    <serial type="file">
      <source path={quoteattr(str(console))}/><target port="0"/>
    </serial>
    <console type="file">
      <source path={quoteattr(str(console))}/><target type="serial" port="0"/>
    </console>
    <memballoon model="none"/>
  </devices>
</domain>"""


class Guest:
    """One running transient domain and its agent."""

    def __init__(self, conn: libvirt.virConnect, xml: str) -> None:
        self.created = time.monotonic()
        self.conn = conn
        self.domain = conn.createXML(xml, 0)
        self.name = self.domain.name()
        self.agent = Agent(self.domain)

    def check_running(self) -> None:
        try:
            state, reason = self.domain.state()
        except libvirt.libvirtError:
            if not libvirt_conn.alive(self.conn):
                raise TriptychError(
                    f"libvirtd went away during the run; guest {self.name} cannot be reached"
                ) from None
            raise TriptychError(f"guest {self.name} was destroyed during the run") from None
        if state == libvirt.VIR_DOMAIN_PAUSED:
            raise TriptychError(
                f"guest {self.name} is paused (CPU emulation failed? reason "
                f"{reason}); see /var/log/libvirt/qemu/{self.name}.log"
            )
        if state != libvirt.VIR_DOMAIN_RUNNING:
            what = STATES.get(state, f"state {state}")
            raise TriptychError(f"guest {self.name} stopped during the run ({what})")

    def wait_for_agent(self, timeout: float) -> float:
        """Seconds from create to the agent answering."""
        deadline = self.created + timeout
        while not self.agent.ping():
            self.check_running()
            if time.monotonic() > deadline:
                raise PlatformUnavailable(
                    f"guest {self.name}: agent did not answer within "
                    f"{timeout:g} s; see /var/log/libvirt/qemu/{self.name}.log"
                )
            time.sleep(0.2)
        return time.monotonic() - self.created

    def qemu_process(self) -> psutil.Process | None:
        """The QEMU process of this guest (checked by its command line, not just the pid file)."""
        pidfile = Path(f"/run/libvirt/qemu/{self.name}.pid")
        try:
            proc = psutil.Process(int(pidfile.read_text().strip()))
            if f"guest={self.name}," in " ".join(proc.cmdline()):
                return proc
        except (OSError, ValueError, psutil.Error):
            pass
        return None

    def qemu_rss_bytes(self) -> int:
        proc = self.qemu_process()
        try:
            return int(proc.memory_info().rss) if proc is not None else 0
        except psutil.Error:
            return 0

    def destroy(self) -> bool:
        """Stop the guest; without libvirtd, kill its QEMU process. False if it may still run."""
        try:
            self.domain.destroy()
        except libvirt.libvirtError:
            if libvirt_conn.alive(self.conn):
                return True  # already gone
            proc = self.qemu_process()
            if proc is not None:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
                    proc.wait(10)
            return self.qemu_process() is None
        return True


class VmPlatform(Platform):
    """A guest booted for the session; servers in it are reached over the suite's network."""

    name: ClassVar[str] = "vm"
    network_variants: ClassVar[tuple[str, ...]] = ("virtio-net",)
    disk_variants: ClassVar[tuple[str, ...]] = ("virtio-disk",)

    def __init__(self, session: str, settings: VmSettings, cache: Path = DEFAULT_CACHE) -> None:
        self.session = session
        self.settings = settings
        self.cache = cache
        self.accel, self.accel_reason = "", ""
        self._conn: libvirt.virConnect | None = None
        self._network: libvirt.virNetwork | None = None
        self._guest: Guest | None = None
        self._dir = SESSIONS_DIR / f"{NAME_PREFIX}{session}"
        self._servers: list[GuestProcess] = []
        self._address = ""
        self._boot: GuestBoot | None = None
        self._cold = 0
        self.boot_seconds = 0.0
        self._guest_kernel = ""
        self._owns_dir = False

    @property
    def resource_name(self) -> str:
        return f"{NAME_PREFIX}{self.session}"

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
        if self._conn is None or self._network is None or self._boot is None:
            raise TriptychError("vm platform used before start()")
        disk = session_overlay(self._boot.base, self._dir, tag)
        xml = domain_xml(
            f"{self.resource_name}-{tag}",
            self.session,
            self.accel,
            self.settings,
            self._boot,
            disk,
            self._network.name(),
        )
        try:
            return Guest(self._conn, xml)
        except libvirt.libvirtError as e:
            raise PlatformUnavailable(
                f"libvirt could not start the guest: {e.get_error_message()}"
            ) from None

    def start(self) -> None:
        self.accel, self.accel_reason = choose_acceleration(self.settings.acceleration)
        self._conn = connect()
        report_swept(sweep_libvirt(self._conn, stale_only=True))
        self._boot = self._boot_files()
        # Who owns the session's network and disks, for the sweep after a run that died. A
        # directory already there holds what an earlier instance could not remove: keep it.
        if not self._dir.exists():
            self._dir.mkdir(parents=True)
            (self._dir / OWNER_FILE).write_text(owner() + "\n")
            self._owns_dir = True
        net = session_subnet(self.session)
        bridge = "tt" + hashlib.sha256(self.session.encode()).hexdigest()[:10]
        try:
            self._network = self._conn.networkCreateXML(
                network_xml(self.resource_name, bridge, net)
            )
        except libvirt.libvirtError as e:
            raise PlatformUnavailable(
                f"libvirt could not create the suite's network: {e.get_error_message()}"
            ) from None
        self._guest = self._start_guest("vm")
        self.boot_seconds = self._guest.wait_for_agent(BOOT_TIMEOUT)
        # The agent answers before boot settles: wait for systemd before measuring anything.
        self._guest.agent.run(["systemctl", "is-system-running", "--wait"], BOOT_TIMEOUT, self.name)
        self._address = self._wait_for_address()
        self._guest_kernel = self.run(["uname", "-r"], 60).check(self.name).stdout.strip()
        self.run(["mkdir", "-p", GUEST_SCRATCH], 60).check(self.name)

    def _wait_for_address(self) -> str:
        assert self._guest is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for iface in self._guest.agent.command("guest-network-get-interfaces") or []:
                if iface.get("name") == "lo":
                    continue
                for a in iface.get("ip-addresses", []):
                    if a.get("ip-address-type") == "ipv4":
                        return str(a["ip-address"])
            time.sleep(0.5)
        raise PlatformUnavailable(
            f"guest {self._guest.name} got no IPv4 address on the suite's network"
        )

    def stop(self) -> None:
        while self._servers:
            self._servers.pop().stop()
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
                    left.append(f"network {self.resource_name}")
            self._network = None
        report_left(self.name, "libvirtd is gone", left)
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

    def _live(self) -> Guest:
        if self._guest is None:
            raise TriptychError("vm platform used before start()")
        return self._guest

    def healthy(self) -> bool:
        if self._guest is None:
            return False
        try:
            self._guest.check_running()
        except TriptychError:
            return False
        return True

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        guest = self._live()
        guest.check_running()
        try:
            return guest.agent.run(argv, timeout, self.name)
        except TriptychError:
            guest.check_running()  # a destroyed guest says so, not just "agent error"
            raise

    def spawn(self, argv: Sequence[str]) -> GuestProcess:
        server = GuestProcess(self._live().agent, argv)
        self._servers.append(server)
        return server

    def endpoint(self, port: int, variant: str) -> Endpoint:
        check_variant(self, variant, self.network_variants)
        return Endpoint(variant, self._address, port)

    def scratch(self, variant: str) -> ScratchDir:
        check_variant(self, variant, self.disk_variants)
        return ScratchDir(variant, GUEST_SCRATCH)

    def cold_start(self, timeout: float) -> list[Sample]:
        self._cold += 1
        guest = self._start_guest(f"cold{self._cold}")
        try:
            seconds = guest.wait_for_agent(max(timeout, BOOT_TIMEOUT))
            rss = guest.qemu_rss_bytes()
        finally:
            guest.destroy()
            (self._dir / f"cold{self._cold}.qcow2").unlink(missing_ok=True)
        return [
            Sample("startup time to first exec", seconds, "s", False),
            Sample(
                "memory footprint at idle",
                rss / 2**20,
                "MiB",
                False,
                metadata={"measured": "QEMU process RSS"},
            ),
        ]

    def metadata(self) -> dict[str, MetaValue]:
        meta: dict[str, MetaValue] = {
            "platform": self.name,
            "layer": "vm",
            "acceleration": "kvm" if self.accel == "kvm" else "tcg",
            "emulated": self.accel != "kvm",
            "acceleration_reason": self.accel_reason,
            "boot_seconds": round(self.boot_seconds, 3),
            "guest_kernel_release": self._guest_kernel,
            **self.settings.metadata(),
        }
        if self._conn is not None:
            with contextlib.suppress(libvirt.libvirtError):
                meta["libvirt_version"] = _version(self._conn.getLibVersion())
                meta["qemu_version"] = _version(self._conn.getVersion())
        return meta


def _version(n: int) -> str:
    return f"{n // 1_000_000}.{n // 1000 % 1000}.{n % 1000}"
