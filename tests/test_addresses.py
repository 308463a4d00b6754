"""The addresses a client on the host may send to: a guest agent's and Docker's reports, real
and made hostile, checked against the networks the suite made before anything is sent."""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from triptych.errors import TriptychError
from triptych.platforms.addresses import (
    AddressPool,
    agent_lease,
    bridge_pool,
    dhcp_range,
    guest_pool,
)
from triptych.platforms.docker_attrs import bridge_addresses, published_port
from triptych.platforms.vm_xml import network_xml

DATA = Path(__file__).parent / "data"
# A real guest's reply to guest-network-get-interfaces (its lease 10.213.99.47 on ens2), and
# Docker's `docker network inspect bridge`, both captured on this machine.
AGENT_REPLY = json.loads((DATA / "guest-agent-interfaces.json").read_text())
BRIDGE = json.loads((DATA / "docker-network-bridge.json").read_text())[0]
GUEST_NET = ipaddress.IPv4Network("10.213.99.0/24")


def _reply_naming(address: object) -> list[dict[str, Any]]:
    """The real reply with ens2's IPv4 address replaced."""
    reply: list[dict[str, Any]] = copy.deepcopy(AGENT_REPLY)
    for iface in reply:
        for a in iface["ip-addresses"]:
            if iface["name"] != "lo" and a["ip-address-type"] == "ipv4":
                a["ip-address"] = address
    return reply


def test_the_real_guest_lease_is_taken_and_loopback_skipped() -> None:
    assert agent_lease(AGENT_REPLY, guest_pool(GUEST_NET)) == ("10.213.99.47", [])


def test_the_pool_is_the_range_the_network_leases() -> None:
    first, last = dhcp_range(GUEST_NET)
    xml = network_xml("n", "b", GUEST_NET)
    assert f'<range start="{first}" end="{last}"/>' in xml
    assert '<ip address="10.213.99.1"' in xml  # the host's own, outside the pool
    assert (str(first), str(last)) == ("10.213.99.10", "10.213.99.100")


@pytest.mark.parametrize(
    "hostile",
    [
        "192.0.2.7",  # another network altogether
        "10.213.98.47",  # the next /24
        "10.213.99.1",  # the host's own address on the network
        "10.213.99.9",  # below the leases
        "10.213.99.101",  # above them
        "10.213.99.255",
        "127.0.0.2",
        "10.213.99.47/24",
        "10.213.99.047",
        " 10.213.99.47",
        "10.213.99.47" + " " * 100,
        "x" * 10_000,
        168_518_447,  # 10.213.99.47 as a number
        None,
        ["10.213.99.47"],
    ],
)
def test_an_agent_naming_another_address_gets_none(hostile: object) -> None:
    pool = guest_pool(GUEST_NET)
    lease, outside = agent_lease(_reply_naming(hostile), pool)
    assert lease is None
    assert outside == [str(hostile)[:64]]
    with pytest.raises(TriptychError) as e:
        pool.check(hostile, "the agent of guest g")
    message = str(e.value)
    assert "\n" not in message
    assert len(message) < 400
    assert "is not on the suite's guest network 10.213.99.0/24" in message
    assert "nothing was sent to it" in message


@pytest.mark.parametrize(
    "reply",
    [None, "10.213.99.47", 47, {"ens2": "10.213.99.47"}, [1, "a", None],
     [{"name": "ens2", "ip-addresses": "10.213.99.47"}], [{"name": "ens2", "ip-addresses": [7]}],
     [{"name": "ens2"}]],
)  # fmt: skip
def test_a_reply_of_another_shape_names_no_lease(reply: object) -> None:
    assert agent_lease(reply, guest_pool(GUEST_NET)) == (None, [])


def test_an_address_on_loopback_s_entry_is_not_a_lease() -> None:
    reply = copy.deepcopy(AGENT_REPLY)
    reply[0]["ip-addresses"][0]["ip-address"] = "10.213.99.47"  # named "lo"
    reply[1]["ip-addresses"][0]["ip-address"] = "192.0.2.7"
    assert agent_lease(reply, guest_pool(GUEST_NET)) == (None, ["192.0.2.7"])


def test_a_lease_on_a_second_interface_is_found_past_a_stray_one() -> None:
    reply = _reply_naming("192.0.2.7")
    second = copy.deepcopy(reply[1])
    second["ip-addresses"][0]["ip-address"] = "10.213.99.50"
    assert agent_lease([*reply, second], guest_pool(GUEST_NET)) == ("10.213.99.50", ["192.0.2.7"])


def test_the_bridge_pool_is_its_subnet_less_the_bridge() -> None:
    pool = bridge_pool(BRIDGE["IPAM"])
    assert pool.check("172.17.0.2", "Docker") == "172.17.0.2"
    assert pool.admits("172.17.255.254")
    for outside in ("172.17.0.1", "172.17.0.0", "172.17.255.255", "172.18.0.2", "10.213.99.47"):
        assert not pool.admits(outside), outside
    with pytest.raises(TriptychError, match=r"'172\.17\.0\.1', which is not on Docker's bridge"):
        pool.check("172.17.0.1", "Docker, for container c,")


@pytest.mark.parametrize(
    "ipam",
    [None, [], {}, {"Config": None}, {"Config": [7]}, {"Config": [{"Subnet": "bad"}]},
     {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "10.0.0.1"}]},
     {"Config": [{"Subnet": "172.17.0.1/32", "Gateway": "172.17.0.1"}]},
     {"Config": [{"Subnet": "fd00::/64", "Gateway": "fd00::1"}]}],
)  # fmt: skip
def test_a_bridge_without_a_usable_subnet_is_refused(ipam: object) -> None:
    with pytest.raises(TriptychError, match=r"^Docker's bridge network has no IPv4 subnet"):
        bridge_pool(ipam)


PUBLISHED = {
    "NetworkSettings": {"Ports": {"5201/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}]}}
}


def test_a_port_published_on_loopback_is_read() -> None:
    assert published_port(PUBLISHED, 5201, "c") == 32768


@pytest.mark.parametrize(
    "bindings",
    [None, [], "32768", [{"HostIp": "0.0.0.0", "HostPort": "32768"}],  # noqa: S104 - data
     [{"HostIp": "127.0.0.1", "HostPort": "0"}], [{"HostIp": "127.0.0.1", "HostPort": "70000"}],
     [{"HostIp": "127.0.0.1", "HostPort": "-1"}], [{"HostIp": "127.0.0.1", "HostPort": None}],
     [{"HostIp": "127.0.0.1", "HostPort": "32768; rm"}], [7]],
)  # fmt: skip
def test_a_port_not_published_on_loopback_is_refused(bindings: object) -> None:
    attrs = {"NetworkSettings": {"Ports": {"5201/tcp": bindings}}}
    with pytest.raises(TriptychError, match=r"^port 5201 is not published on 127\.0\.0\.1 by c$"):
        published_port(attrs, 5201, "c")


def test_pools_compare_addresses_not_text() -> None:
    pool = AddressPool(
        ipaddress.IPv4Address("10.0.0.10"), ipaddress.IPv4Address("10.0.0.100"), frozenset(), "n"
    )
    assert pool.admits("10.0.0.9") is False  # "10.0.0.9" > "10.0.0.10" as text
    assert pool.admits("10.0.0.99") is True


def _without_gateway() -> dict[str, object]:
    """The real captured IPAM as Docker 20.10 gave it on a fresh machine of ours: no Gateway."""
    ipam: dict[str, object] = copy.deepcopy(BRIDGE["IPAM"])
    for config in BRIDGE["IPAM"]["Config"]:
        assert "Gateway" in config  # the capture names it; the copy does not
    ipam["Config"] = [
        {k: v for k, v in c.items() if k != "Gateway"} for c in BRIDGE["IPAM"]["Config"]
    ]
    return ipam


def test_a_bridge_whose_ipam_names_no_gateway_leaves_out_its_interfaces_address() -> None:
    pool = bridge_pool(_without_gateway(), ["172.17.0.1", "10.9.9.9"])
    assert not pool.admits("172.17.0.1")
    assert pool.admits("172.17.0.2")
    # IPAM's gateway, where it names one, is the bridge's own whatever the interface holds.
    named = bridge_pool(BRIDGE["IPAM"], ["172.17.0.9"])
    assert not named.admits("172.17.0.1")
    assert named.admits("172.17.0.9")


@pytest.mark.parametrize(
    "own", [[], ["10.9.9.9"], ["172.17.0.1", "172.17.0.2"], ["not an address"], ["x" * 10_000]]
)
def test_without_a_gateway_the_bridge_must_hold_exactly_one_address_of_its_subnet(
    own: list[str],
) -> None:
    with pytest.raises(TriptychError, match=r"^Docker's bridge network has no IPv4 subnet"):
        bridge_pool(_without_gateway(), own)


@pytest.mark.parametrize(
    ("name", "found"),
    [("lo", ["127.0.0.1"]), ("no-such-if0", []), ("lo; rm -rf /", []), ("../lo", []),
     ("x" * 16, []), (7, []), (None, [])],
)  # fmt: skip
def test_the_bridges_own_addresses_are_read_from_the_kernel(name: object, found: list[str]) -> None:
    """The interface a bridge's options name, read through psutil (the real kernel's), and only
    a name an interface can have."""
    attrs = {**BRIDGE, "Options": {**BRIDGE["Options"], "com.docker.network.bridge.name": name}}
    assert bridge_addresses(attrs) == found
    assert bridge_addresses({"Options": "docker0"}) == []
