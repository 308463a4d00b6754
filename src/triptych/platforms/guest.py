"""One running guest: created from domain XML, watched through libvirt, reached by its agent."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import libvirt
import psutil

from triptych.errors import PlatformUnavailable, TriptychError
from triptych.platforms import libvirt_conn
from triptych.platforms.addresses import AddressPool, agent_lease
from triptych.platforms.guest_agent import Agent

STATES = {
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutting down",
    libvirt.VIR_DOMAIN_SHUTOFF: "shut off",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "suspended",
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


class Guest:
    """One running transient domain and its agent."""

    def __init__(self, conn: libvirt.virConnect, xml: str) -> None:
        self.created = time.monotonic()
        self.conn = conn
        self.domain = conn.createXML(xml, 0)
        self.name = self.domain.name()
        self.agent = Agent(self.domain)

    def check_running(self, settle: float = 0.0) -> None:
        """Raise if the guest is gone, paused or stopped; given `settle` seconds (after its
        agent failed), give libvirt that long to record a death before believing it runs."""
        deadline = time.monotonic() + settle
        while True:
            self._check_state()
            if time.monotonic() >= deadline:
                return
            time.sleep(0.1)

    def _check_state(self) -> None:
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

    def wait_for_command(self, timeout: float) -> float:
        """Seconds from create until a command run inside the guest answered (the same event
        a container's startup is timed to)."""
        self.wait_for_agent(timeout)
        remaining = max(1.0, self.created + timeout - time.monotonic())
        self.agent.run(["true"], remaining, self.name).check(self.name)
        return time.monotonic() - self.created

    def address(self, pool: AddressPool, timeout: float = 120.0) -> str:
        """Its IPv4 address on the suite's network, as its agent reports it (once it has one),
        if it is a lease of that network's (`pool`); the agent's word is checked, not taken."""
        deadline = time.monotonic() + timeout
        outside: list[str] = []
        while time.monotonic() < deadline:
            lease, outside = agent_lease(self.agent.command("guest-network-get-interfaces"), pool)
            if lease is not None:
                return lease
            time.sleep(0.5)
        if outside:
            pool.check(outside[0], f"the agent of guest {self.name}")
        raise PlatformUnavailable(f"guest {self.name} got no IPv4 address on the suite's network")

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

    def uses_vhost_net(self) -> bool:
        """Whether QEMU moved the NIC's data path into the kernel (an open /dev/vhost-net)."""
        proc = self.qemu_process()
        if proc is None:
            return False
        fds = Path(f"/proc/{proc.pid}/fd")
        with contextlib.suppress(OSError):
            for fd in fds.iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == "/dev/vhost-net":
                        return True
        return False

    def pin_vcpus(self, cpus: tuple[int, ...]) -> None:
        """Confine every vCPU of the running guest to these host CPUs (each may run on any of
        them)."""
        self.pin_each([cpus] * int(self.domain.info()[3]))

    def pin_each(self, cpus: list[tuple[int, ...]]) -> None:
        """vCPU i of the running guest on the host CPUs cpus[i]."""
        host_cpus = int(self.conn.getCPUMap(0)[0])
        try:
            for vcpu, on in enumerate(cpus):
                self.domain.pinVcpu(vcpu, tuple(c in on for c in range(host_cpus)))
        except libvirt.libvirtError as e:
            raise TriptychError(
                f"guest {self.name}: could not pin its vCPUs ({e.get_error_message()})"
            ) from None

    def live_xml(self) -> str:
        """The domain as libvirt runs it (its defaults filled in)."""
        return str(self.domain.XMLDesc(0))

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
