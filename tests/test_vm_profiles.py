"""Guest profiles: what each one puts in the domain, accepted by the real libvirtd for KVM and
for QEMU, booted under TCG here, recorded with every sample; and one line for what this machine
cannot honour."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from tests.suite_run import saved_run
from triptych.errors import PlatformUnavailable
from triptych.images import RootfsRecipe
from triptych.platforms.libvirt_sweep import SESSIONS_DIR
from triptych.platforms.settings import VmSettings
from triptych.platforms.vm import VmPlatform
from triptych.platforms.vm_profile import hugepages_problem, resolve, topology
from triptych.platforms.vm_xml import domain_xml, neutral_xml
from triptych.record import CaseRecord
from triptych.report.render import render
from triptych.results.load import load_runs
from triptych.session import NAME_PREFIX, new_session_id
from triptych.vm_image import guest_boot

PROFILE_SETTINGS = VmSettings(vcpus=2, memory_mib=1024)


def test_topology_follows_the_host_where_the_count_allows() -> None:
    assert topology(4, 2) == (1, 2, 2)  # 4 vCPUs as 2 cores x 2 threads, like an SMT host
    assert topology(3, 2) == (1, 3, 1)  # an odd count cannot: flat cores
    assert topology(2, 1) == (1, 2, 1)  # no SMT on the host: none in the guest


def test_tuned_and_default_differ_where_felter_says_it_matters() -> None:
    tuned = resolve(VmSettings(vcpus=4, profile="tuned"), "kvm", 2)
    assert (tuned.machine, tuned.cpu_passthrough, tuned.topology) == ("q35", True, (1, 2, 2))
    assert (tuned.iothread, tuned.queues, tuned.disk_cache, tuned.disk_io) == (
        True, 4, "none", "native",
    )  # fmt: skip
    assert tuned.not_applied == ()
    default = resolve(VmSettings(vcpus=4, profile="default"), "kvm", 2)
    assert (default.machine, default.cpu_passthrough, default.topology) == ("pc", False, None)
    assert (default.iothread, default.queues, default.disk_cache, default.disk_io) == (
        False, 1, None, None,
    )  # fmt: skip
    # Recorded as what QEMU then does, not as "unset".
    assert default.metadata()["disk_cache"] == "writeback"
    assert default.metadata()["disk_io"] == "threads"


def test_auto_is_tuned_under_kvm_and_default_under_tcg() -> None:
    assert resolve(VmSettings(), "kvm", 1).profile == "tuned"
    assert resolve(VmSettings(), "qemu", 1).profile == "default"
    # Tuned under TCG applies the rest and says what it could not.
    tcg = resolve(VmSettings(profile="tuned"), "qemu", 1)
    assert (tcg.machine, tcg.cpu_passthrough, tcg.iothread) == ("q35", False, True)
    assert "host-passthrough" in tcg.metadata()["profile_not_applied"]  # type: ignore[operator]


def test_explicit_settings_win_over_the_profile() -> None:
    s = VmSettings(profile="tuned", disk_cache="writeback", cpu_pins="1,0")
    shape = resolve(s, "kvm", 1)
    # writeback cannot go with native I/O: the profile's I/O follows the user's cache.
    assert (shape.disk_cache, shape.disk_io, shape.cpu_pins) == ("writeback", "threads", "1,0")
    d = resolve(VmSettings(profile="default", disk_cache="none", disk_io="native"), "kvm", 1)
    assert (d.disk_cache, d.disk_io) == ("none", "native")


def test_hugepages_need_free_pages_reserved() -> None:
    none = "HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n"
    problem = hugepages_problem(1024, none)
    assert problem is not None
    assert problem.startswith("[vm] hugepages = true needs 512 free huge pages of 2048 KiB")
    assert "echo 512 > /proc/sys/vm/nr_hugepages" in problem
    assert problem.endswith("or set hugepages = false")
    enough = "HugePages_Free:      600\nHugepagesize:       2048 kB\n"
    assert hugepages_problem(1024, enough) is None


def _shape_xml(profile: str, accel: str, session: str) -> str:
    s = VmSettings(vcpus=2, memory_mib=1024, profile=profile)
    boot = guest_boot(RootfsRecipe())
    return domain_xml(
        f"{NAME_PREFIX}{session}-validate",
        session,
        accel,
        s,
        resolve(s, accel, 2),
        boot,
        SESSIONS_DIR / "validate.qcow2",
        "default",
    )


@pytest.mark.vm
@pytest.mark.parametrize("accel", ["kvm", "qemu"])
@pytest.mark.parametrize("profile", ["tuned", "default"])
def test_each_profile_is_accepted_by_libvirtd(
    conn: libvirt.virConnect, profile: str, accel: str
) -> None:
    """Defined with validation against libvirt's schema and this host's capabilities (a KVM
    domain is checked too, though it cannot boot here), then undefined."""
    session = new_session_id()
    xml = _shape_xml(profile, accel, session)
    dom = conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    try:
        live = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))  # noqa: S314
    finally:
        dom.undefine()
    machine = live.find("os/type")
    assert machine is not None
    assert machine.get("machine", "").startswith("pc-q35" if profile == "tuned" else "pc-i440fx")
    cpu = live.find("cpu")
    if profile == "tuned":
        assert live.findtext("iothreads") == "1"
        assert live.find("devices/interface/driver").get("queues") == "2"  # type: ignore[union-attr]
        assert cpu is not None
        assert (cpu.get("mode") == "host-passthrough") is (accel == "kvm")
        assert cpu.find("topology") is not None
    else:
        assert live.find("iothreads") is None
        assert cpu is None or cpu.get("mode") != "host-passthrough"


def test_neutral_xml_makes_equal_configurations_equal() -> None:
    a, b = new_session_id(), new_session_id()
    xa = _shape_xml("tuned", "qemu", a).replace("<domain ", '<domain id="7" ')
    xb = _shape_xml("tuned", "qemu", b)
    xa = xa.replace("</interface>", "<mac address='52:54:00:aa:bb:cc'/></interface>")
    xb = xb.replace("</interface>", "<mac address='52:54:00:11:22:33'/></interface>")
    assert xa != xb
    na, nb = neutral_xml(xa, f"{NAME_PREFIX}{a}"), neutral_xml(xb, f"{NAME_PREFIX}{b}")
    assert na == nb
    assert a not in na
    assert "52:54:00" not in na
    assert str(SESSIONS_DIR) not in na


@pytest.mark.vm
def test_hugepages_this_machine_cannot_back_fail_in_one_line(conn: libvirt.virConnect) -> None:
    meminfo = Path("/proc/meminfo").read_text()
    if hugepages_problem(1024, meminfo) is None:
        pytest.skip("this machine has huge pages reserved")
    platform = VmPlatform(new_session_id(), VmSettings(memory_mib=1024, hugepages=True))
    with pytest.raises(PlatformUnavailable) as e:
        platform.start()
    platform.stop()
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("[vm] hugepages = true needs")
    assert not (SESSIONS_DIR / platform.session_prefix).exists()


SCENARIO = """
[scenario]
name = "profiles"
platforms = ["host", "vm"]
rounds = 2
duration = 1

[vm]
vcpus = 2
memory_mib = 1024
profiles = ["tuned", "default"]

[[case]]
name = "cpu"
workload = "sysbench-cpu"
"""


@pytest.mark.vm
@pytest.mark.slow
def test_a_run_with_two_profiles_has_two_vm_columns(tmp_path: Path) -> None:
    saved, _ = saved_run(tmp_path, SCENARIO, "profiles")
    doc = json.loads(saved.read_text())
    names = {b["name"] for b in doc["benchmarks"]}
    assert {"test_case[profiles/cpu/vm.tuned]", "test_case[profiles/cpu/vm.default]"} <= names
    records = [CaseRecord.from_extra_info(b["extra_info"]) for b in doc["benchmarks"]]
    vm_records = [r for r in records if r.platform == "vm"]
    assert {r.profile for r in vm_records} == {"tuned", "default"}
    for r in vm_records:
        # The domain XML is kept once per record, never copied into each sample.
        assert "<domain" in str(r.platform_metadata["domain_xml"])
        assert all("domain_xml" not in s.metadata for s in r.samples)
    runs = load_runs([saved])
    platforms = runs.platforms[saved.stem]
    assert platforms["vm.tuned"]["vm_profile"] == "tuned"
    assert platforms["vm.default"]["vm_profile"] == "default"
    assert "pc-i440fx" in platforms["vm.default"]["domain_xml"]
    _tuned_booted_under_this_acceleration_and_recorded_itself(platforms["vm.tuned"])
    html = render(runs)
    assert "vm tuned" in html
    assert "vm default" in html
    assert "<summary>domain_xml</summary>" in html


def _tuned_booted_under_this_acceleration_and_recorded_itself(meta: dict[str, object]) -> None:
    """The tuned guest of the run above (one boot serves both tests): its live domain, as the
    record keeps it, is a q35 machine with an I/O thread and two vCPUs, and it names what the
    profile could not apply under emulation; nothing of the session is in it."""
    assert meta["machine"] == "q35"
    assert meta["net_queues"] == 2
    assert meta["vhost_net"] in (True, False)
    if meta["acceleration"] == "tcg":
        assert "host-passthrough" in str(meta["profile_not_applied"])
    xml = str(meta["domain_xml"])
    assert "machine='pc-q35" in xml or 'machine="pc-q35' in xml
    live = ET.fromstring(xml)  # noqa: S314 - the suite's own record of its own guest
    assert live.findtext("iothreads") == "1"
    assert live.findtext("vcpu") == "2"
    assert "SESSION" in xml  # the session's names made neutral
    assert re.search(r"address=\"[0-9a-f]{2}:", xml) is None  # MACs neutral
