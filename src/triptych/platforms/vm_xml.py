"""The libvirt XML of the suite's guest network and domains."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from triptych.errors import PlatformUnavailable
from triptych.platforms.addresses import dhcp_range
from triptych.platforms.libvirt_sweep import metadata_xml
from triptych.platforms.settings import VmSettings
from triptych.platforms.vm_profile import GuestShape
from triptych.vm_image import GuestBoot


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
    first, last = dhcp_range(net)
    # No <forward>: an isolated network, reachable from the host and from nowhere else.
    return f"""<network>
  <name>{escape(name)}</name>
  <bridge name={quoteattr(bridge)} stp="off"/>
  <ip address="{hosts[0]}" netmask="{net.netmask}">
    <dhcp><range start="{first}" end="{last}"/></dhcp>
  </ip>
</network>"""


def _cpu(shape: GuestShape) -> str:
    if shape.topology is None and not shape.cpu_passthrough:
        return ""  # QEMU's own CPU model and a flat topology
    mode = ' mode="host-passthrough" check="none" migratable="off"' if shape.cpu_passthrough else ""
    topo = ""
    if shape.topology is not None:
        sockets, cores, threads = shape.topology
        topo = f'<topology sockets="{sockets}" dies="1" cores="{cores}" threads="{threads}"/>'
    return f"<cpu{mode}>{topo}</cpu>"


def _pins(shape: GuestShape) -> str:
    if not shape.cpu_pins:
        return ""
    cpus = shape.cpu_pins.split(",")
    return (
        "<cputune>"
        + "".join(f'<vcpupin vcpu="{i}" cpuset={quoteattr(c)}/>' for i, c in enumerate(cpus))
        + "</cputune>"
    )


def _disk_driver(shape: GuestShape) -> str:
    attrs = ['name="qemu"', 'type="qcow2"']
    if shape.disk_cache:
        attrs.append(f"cache={quoteattr(shape.disk_cache)}")
    if shape.disk_io:
        attrs.append(f"io={quoteattr(shape.disk_io)}")
    if shape.iothread:
        attrs.append('iothread="1"')
    return f"<driver {' '.join(attrs)}/>"


def _devices(shape: GuestShape, disk: Path, network: str) -> str:
    """The virtio disk and NIC, the agent's channel, the console to a file."""
    console = disk.with_suffix(".console.log")
    queues = f'<driver queues="{shape.queues}"/>' if shape.queues > 1 else ""
    return f"""<devices>
    <disk type="file" device="disk">
      {_disk_driver(shape)}
      <source file={quoteattr(str(disk))}/>
      <target dev="vda" bus="virtio"/>
    </disk>
    <interface type="network">
      <source network={quoteattr(network)}/>
      <model type="virtio"/>
      {queues}
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
  </devices>"""


def domain_xml(
    name: str,
    session: str,
    accel: str,
    s: VmSettings,
    shape: GuestShape,
    boot: GuestBoot,
    disk: Path,
    network: str,
) -> str:
    """The guest's domain, shaped by its profile (platforms/vm_profile.py)."""
    initrd = f"<initrd>{escape(str(boot.initrd))}</initrd>" if boot.initrd else ""
    hugepages = "<memoryBacking><hugepages/></memoryBacking>" if shape.hugepages else ""
    iothreads = "<iothreads>1</iothreads>" if shape.iothread else ""
    return f"""<domain type="{accel}">
  <name>{escape(name)}</name>
  {metadata_xml(session)}
  <memory unit="MiB">{s.memory_mib}</memory>
  {hugepages}
  <vcpu placement="static">{s.vcpus}</vcpu>
  {iothreads}
  {_pins(shape)}
  {_cpu(shape)}
  <os>
    <type arch="x86_64" machine={quoteattr(shape.machine)}>hvm</type>
    <kernel>{escape(str(boot.kernel))}</kernel>
    {initrd}
    <cmdline>root=/dev/vda rw console=ttyS0</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  {_devices(shape, disk, network)}
</domain>"""


def neutral_xml(xml: str, session_prefix: str) -> str:
    """A domain's XML with what differs between equal configurations made neutral: its id,
    name and UUID, session names, MAC addresses, tap device names, security labels, and the
    directories of its files (each absolute path keeps only its file name)."""
    root = ET.fromstring(xml)  # noqa: S314 - our own libvirtd describing our own guest
    root.attrib.pop("id", None)
    for parent in root.iter():
        for child in list(parent):
            if child.tag in ("uuid", "seclabel", "metadata"):
                parent.remove(child)
    for parent in root.iter("interface"):
        for target in parent.iter("target"):
            target.set("dev", "TAP")
    for el in root.iter():
        if el.tag == "mac" and "address" in el.attrib:
            el.set("address", "MAC")
        for key, value in list(el.attrib.items()):
            el.set(key, _neutral(value, session_prefix))
        if el.text and el.text.strip():
            el.text = _neutral(el.text.strip(), session_prefix)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _neutral(value: str, session_prefix: str) -> str:
    if value.startswith("/"):
        value = Path(value).name
    return value.replace(session_prefix, "SESSION")
