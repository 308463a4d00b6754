"""Where a client on the host may send: the addresses of the suite's own networks.

A guest's address is what its agent says, and the guest's root writes the agent's replies; a
container's is what Docker says. Before any client on the host sends to one (an endpoint, a
neighbour's flood), the address is checked against the network the suite made for it: a guest's
must be a lease of the session's isolated /24 (its DHCP range, never the host's own address on
it), a container's an address of Docker's bridge subnet other than the bridge's own. Anything
else is refused with the address named, and nothing is sent to it (the network rule: loopback
and what the suite created on this machine, never any other address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from triptych.errors import TriptychError

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class AddressPool:
    """The addresses an instance on one of the suite's networks may have."""

    first: ipaddress.IPv4Address
    last: ipaddress.IPv4Address
    excluded: frozenset[ipaddress.IPv4Address]
    what: str  # the network, as an error names it

    def admits(self, reported: object) -> bool:
        address = _ipv4(reported)
        return (
            address is not None and self.first <= address <= self.last
            and address not in self.excluded
        )  # fmt: skip

    def check(self, reported: object, who: str) -> str:
        """The address, if it is one of this pool's; else an error naming it."""
        if not self.admits(reported):
            raise TriptychError(
                f"{who} reported the address {str(reported)[:64]!r}, which is not on {self.what}; "
                "nothing was sent to it (the suite sends only to loopback and to the networks "
                "it created)"
            )
        return str(_ipv4(reported))


def _ipv4(reported: object) -> ipaddress.IPv4Address | None:
    if not isinstance(reported, str) or len(reported) > 15:
        return None
    try:
        return ipaddress.IPv4Address(reported)
    except ValueError:
        return None


def guest_pool(net: ipaddress.IPv4Network) -> AddressPool:
    """The leases of the session's guest network (its DHCP range, as network_xml writes it)."""
    first, last = dhcp_range(net)
    what = f"the suite's guest network {net} ({first}-{last})"
    return AddressPool(first, last, frozenset(), what)


def dhcp_range(net: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The addresses dnsmasq leases on the session's network (the host holds the first)."""
    hosts = list(net.hosts())
    return hosts[9], hosts[99]


def bridge_pool(ipam: Any, own: Collection[str] = ()) -> AddressPool:  # noqa: ANN401 - Docker's JSON
    """The addresses of Docker's bridge network (its IPAM subnet, less the bridge's own), from
    `docker network inspect bridge`'s IPAM. The bridge's own is IPAM's gateway or, where IPAM
    names none (Docker 20.10 left it out on a fresh machine of ours), the one address in the
    subnet that the bridge's interface holds (`own`)."""
    configs = ipam.get("Config") if isinstance(ipam, dict) else None
    for config in configs if isinstance(configs, list) else []:
        if not isinstance(config, dict):
            continue
        try:
            net = ipaddress.IPv4Network(str(config.get("Subnet")))
        except ValueError:
            continue
        gateway = _gateway(config.get("Gateway"), own, net)
        if net.prefixlen >= 31 or gateway is None:
            continue
        return AddressPool(
            net.network_address + 1,
            net.broadcast_address - 1,
            frozenset({gateway}),
            f"Docker's bridge network {net}",
        )
    raise TriptychError(
        "Docker's bridge network has no IPv4 subnet with a gateway (docker network inspect "
        "bridge); start the engine with scripts/daemons.sh start"
    )


def _gateway(
    named: object, own: Collection[str], net: ipaddress.IPv4Network
) -> ipaddress.IPv4Address | None:
    """The bridge's own address on `net`: IPAM's gateway if it names one, else the bridge
    interface's one address there (None if neither tells)."""
    candidates = [named] if named is not None else list(own)
    found = set()
    for text in candidates:
        try:
            address = ipaddress.IPv4Address(str(text))
        except ValueError:
            continue
        if address in net:
            found.add(address)
    return found.pop() if len(found) == 1 else None


def agent_lease(interfaces: object, pool: AddressPool) -> tuple[str | None, list[str]]:
    """From a guest agent's guest-network-get-interfaces reply: its first IPv4 address in the
    pool, and the IPv4 addresses it named outside it (loopback aside)."""
    outside: list[str] = []
    for iface in interfaces if isinstance(interfaces, list) else []:
        if not isinstance(iface, dict) or iface.get("name") == "lo":
            continue
        addresses = iface.get("ip-addresses")
        for a in addresses if isinstance(addresses, list) else []:
            if not isinstance(a, dict) or a.get("ip-address-type") != "ipv4":
                continue
            reported = a.get("ip-address")
            if pool.admits(reported):
                return str(reported), outside
            outside.append(str(reported)[:64])
    return None, outside
