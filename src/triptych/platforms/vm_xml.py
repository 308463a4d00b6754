"""The libvirt XML of the suite's guest network and domains."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from triptych.errors import PlatformUnavailable
from triptych.platforms.libvirt_sweep import metadata_xml
from triptych.platforms.settings import VmSettings
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
  {metadata_xml(session)}
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
