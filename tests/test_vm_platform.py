"""The VM platform against real libvirtd and QEMU, booting the suite's own guest."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from tests.intruder import crashed
from triptych.errors import CommandTimeout, PlatformUnavailable, TriptychError
from triptych.host_cpu import read, since
from triptych.images import RootfsRecipe
from triptych.platforms import libvirt_conn
from triptych.platforms.guest import choose_acceleration, kvm_usable
from triptych.platforms.libvirt_sweep import NAMESPACE, SESSIONS_DIR, clean_libvirt
from triptych.platforms.settings import VmSettings
from triptych.platforms.vm import (
    VmPlatform,
)
from triptych.session import NAME_PREFIX, new_session_id
from triptych.vm_image import guest_boot
from triptych.workloads.base import RunSpec
from triptych.workloads.network import SockperfParams, SockperfPingPong

pytestmark = [pytest.mark.vm, pytest.mark.slow]
PVM = Path("/sys/module/kvm_pvm")
SMALL = VmSettings(vcpus=1, memory_mib=1024)
PINNED = min(1, (os.cpu_count() or 1) - 1)  # the host CPU the module's guest is pinned to


def suite_objects(conn: libvirt.virConnect, session: str) -> list[str]:
    prefix = f"{NAME_PREFIX}{session}"
    names = [d.name() for d in conn.listAllDomains(0)] + [n.name() for n in conn.listAllNetworks(0)]
    return [n for n in names if n.startswith(prefix)]


def own_files_pinned() -> VmSettings:
    """[vm] naming the user's own kernel, initrd and disk (here: paths to the set the suite
    built, cached: the same rootfs as the container image) and pinning the vCPU to one CPU."""
    boot = guest_boot(RootfsRecipe())
    return VmSettings(
        vcpus=1,
        memory_mib=1024,
        cpu_pins=str(PINNED),
        kernel=str(boot.kernel),
        initrd=str(boot.initrd),
        disk=str(boot.base),
    )


@pytest.fixture(scope="module")
def vm(conn: libvirt.virConnect) -> Iterator[VmPlatform]:
    """One guest for the tests that only use it: booted from the user's own files, pinned."""
    with VmPlatform(new_session_id(), own_files_pinned()) as p:
        yield p
    assert suite_objects(conn, p.session) == []
    assert not (SESSIONS_DIR / f"{NAME_PREFIX}{p.session}").exists()


def test_guest_runs_commands_through_the_agent(vm: VmPlatform) -> None:
    r = vm.execute(["sh", "-c", "echo out; echo err >&2; exit 5"], 60)
    assert (r.returncode, r.stdout, r.stderr) == (5, "out\n", "err\n")
    assert vm.execute(["cat", "/etc/triptych-rootfs"], 60).stdout.strip() == RootfsRecipe().key


def test_metadata_says_how_it_was_accelerated(vm: VmPlatform, conn: libvirt.virConnect) -> None:
    meta = vm.metadata()
    # What libvirt actually runs, read from the live domain, not from the suite's choice.
    live = conn.lookupByName(f"{NAME_PREFIX}{vm.session}-vm").XMLDesc(0)
    running_kvm = "<domain type='kvm'" in live
    assert meta["acceleration"] == ("kvm" if running_kvm else "tcg")
    assert meta["emulated"] is (not running_kvm)
    if PVM.exists():
        assert meta["acceleration"] == "tcg"
        assert "nested PVM" in str(meta["acceleration_reason"])
    assert meta["layer"] == "vm"
    assert 0 < float(meta["boot_seconds"]) < 300
    assert meta["boot_attempts"] in (1, 2)  # a hung boot is retried once, and recorded
    assert str(meta["guest_kernel_release"]).endswith("-amd64")
    assert meta["vcpus"] == 1


@pytest.mark.fault
def test_the_guests_work_is_its_vcpu_threads_and_the_rest_of_qemu_the_platforms(
    vm: VmPlatform,
) -> None:
    carriers = vm.carriers()
    assert len(carriers.vmm) == 1
    assert "libvirtd" in carriers.engines
    before = read(carriers)
    out = vm.execute(
        ["stress-ng", "--cpu", "1", "--cpu-method", "int64", "--timeout", "2", "--times"], 120
    ).check("guest")
    spent = since(before, carriers)
    text = out.stdout + out.stderr
    used = sum(float(x) for x in re.findall(r"([\d.]+)s (?:user|system) time", text))
    assert used > 1.0, text
    # The guest's CPU time is its vCPU thread's on the host (emulated or not, at least as much);
    # QEMU's other threads, its vhost threads and libvirt's daemons are the platform's.
    assert spent.inside >= used - 0.05, (spent, used)
    assert spent.inside <= spent.wall * 1.05, spent  # one vCPU: at most one core
    assert spent.platform > 0.0, spent  # the agent's channel alone is served by QEMU's main loop
    assert spent.client <= 0.05, spent


def test_timeout_kills_the_tool_inside_the_guest(vm: VmPlatform) -> None:
    with pytest.raises(CommandTimeout, match=r"sleep on vm did not finish within 2 s"):
        vm.execute(["sleep", "600"], 2)
    left = vm.execute(["sh", "-c", "ps -eo comm | grep -c '^sleep$' || true"], 60).stdout
    assert left.strip() == "0"


def test_server_in_guest_reached_over_the_suite_network(
    vm: VmPlatform, conn: libvirt.virConnect
) -> None:
    e = vm.endpoint(15202, "virtio-net")
    assert e.host.startswith("10.213.")
    net = conn.networkLookupByName(f"{NAME_PREFIX}{vm.session}")
    assert "<forward" not in net.XMLDesc(0)  # isolated: no route to the outside
    w = SockperfPingPong(SockperfParams(), RunSpec(1, 120))
    w.prepare(vm, "virtio-net")
    try:
        samples = {s.metric: s.value for s in w.measure(vm, "virtio-net")}
    finally:
        w.cleanup(vm, "virtio-net")
    assert samples["round-trip time p50"] > 0


def test_domain_is_marked_as_the_suite_s(vm: VmPlatform, conn: libvirt.virConnect) -> None:
    dom = conn.lookupByName(f"{NAME_PREFIX}{vm.session}-vm")
    meta = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE, 0)
    assert vm.session in meta
    assert not dom.isPersistent()  # transient: destroying it leaves no definition behind


def test_cold_start_is_measured_and_removed(vm: VmPlatform, conn: libvirt.virConnect) -> None:
    cold = vm.cold_start(300)
    # Timed to a command run inside answering, which comes after the guest's agent first does.
    assert vm.boot_seconds * 0.5 < cold.seconds < 300
    assert cold.memory_bytes > 50 * 2**20  # QEMU's RSS
    assert cold.memory_measured == "QEMU process RSS"
    assert len([n for n in suite_objects(conn, vm.session) if "cold" in n]) == 0


def test_acceleration_choice() -> None:
    # The machine's facts, read here: KVM boots a stock guest only with a usable /dev/kvm that
    # is not nested PVM.
    ok = os.access("/dev/kvm", os.R_OK | os.W_OK) and not PVM.exists()
    assert kvm_usable()[0] is ok
    accel, reason = choose_acceleration("auto")
    assert accel == ("kvm" if ok else "qemu")
    assert choose_acceleration("qemu")[0] == "qemu"
    if not ok:
        assert "TCG" in reason
        with pytest.raises(PlatformUnavailable, match=r"acceleration kvm requested but"):
            choose_acceleration("kvm")


@pytest.mark.fault
def test_libvirtd_down_is_unavailable() -> None:
    with pytest.raises(
        PlatformUnavailable, match=r"libvirtd not reachable .*scripts/daemons.sh start"
    ):
        libvirt_conn.connect("qemu+unix:///system?socket=/nonexistent/libvirt-sock")


@pytest.mark.fault
def test_a_killed_runs_guest_is_swept_and_strangers_are_not(conn: libvirt.virConnect) -> None:
    """A guest destroyed from outside mid-run is test_faults' (a real run, and the case after
    it); here, what a run killed with its guest up leaves, and what is not ours."""
    session = new_session_id()
    # A run killed by SIGKILL with its guest up: its owner is provably dead.
    crashed_session = new_session_id()
    crashed(
        "from triptych.platforms.vm import VmPlatform\n"
        "from triptych.platforms.settings import VmSettings\n"
        f"VmPlatform({crashed_session!r}, VmSettings(vcpus=1, memory_mib=1024)).start()"
    )
    # A stranger with a name like ours but without our metadata, and one with another name.
    boot = guest_boot(RootfsRecipe())
    xml = (
        "<domain type='qemu'><name>{}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        f"<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{boot.kernel}</kernel></os>"
        "<devices/></domain>"
    )
    strangers = [
        conn.createXML(xml.format(n), 0)
        for n in (f"{NAME_PREFIX}lookalike-{session}", f"stranger-{session}")
    ]
    try:
        # The killed run never called stop(): its guest, network and disks are still there.
        assert suite_objects(conn, crashed_session)
        removed = clean_libvirt(crashed_session)
        assert any("network" in r for r in removed), removed
        assert any("domain" in r for r in removed), removed
        assert suite_objects(conn, crashed_session) == []
        assert not (SESSIONS_DIR / f"{NAME_PREFIX}{crashed_session}").exists()
        for s in strangers:
            assert s.isActive()
    finally:
        for s in strangers:
            s.destroy()


def test_users_own_guest_files_and_vcpu_pinning(vm: VmPlatform, conn: libvirt.virConnect) -> None:
    """[vm] kernel/initrd/disk of the user's own boot (the module's guest), and cpu_pins really
    pins: libvirt reports the live vCPU's affinity as the one host CPU."""
    boot = guest_boot(RootfsRecipe())
    meta = vm.metadata()
    assert (meta["guest_kernel"], meta["guest_disk"]) == (str(boot.kernel), str(boot.base))
    assert meta["cpu_pins"] == str(PINNED)
    dom = conn.lookupByName(f"{NAME_PREFIX}{vm.session}-vm")
    _, cpumaps = dom.vcpus()
    assert [i for i, on in enumerate(cpumaps[0]) if on] == [PINNED]


@pytest.mark.fault
def test_missing_guest_file_is_a_clear_unavailability(conn: libvirt.virConnect) -> None:
    settings = VmSettings(kernel="/nonexistent/vmlinuz", disk="/nonexistent/disk.img")
    with (
        pytest.raises(
            PlatformUnavailable,
            match=r"guest file /nonexistent/disk.img does not exist; fix \[vm\]",
        ),
        VmPlatform(new_session_id(), settings),
    ):
        pass


def test_a_guest_naming_an_address_off_the_suite_network_is_refused(
    vm: VmPlatform, conn: libvirt.virConnect
) -> None:
    # The guest's root writes what its agent reports: here it moves its NIC off its lease to an
    # address outside the session's network. The address is refused, not sent to.
    liar = vm.new_instance("liar")
    try:
        liar.wait_until_answers(300)
        assert liar.pool.admits(liar.guest.address(liar.pool, timeout=60))
        move = (
            "systemctl stop systemd-networkd.socket systemd-networkd; "
            'for d in /sys/class/net/*; do n=${d##*/}; [ "$n" = lo ] && continue; '
            'ip -4 addr flush dev "$n" && ip addr add 192.0.2.7/24 dev "$n"; done'
        )
        liar.execute(["sh", "-c", move], 60).check(liar.name)
        with pytest.raises(
            TriptychError, match=r"reported the address '192\.0\.2\.7', which is not"
        ):
            liar.guest.address(liar.pool, timeout=3)
    finally:
        assert liar.remove()
    assert [n for n in suite_objects(conn, vm.session) if "liar" in n] == []
