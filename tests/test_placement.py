"""Where the load generator and the server run: shared on small machines (and said so), apart
on machines with 4 or more CPUs, consistent with the platform's own pinning."""

from __future__ import annotations

from triptych.platforms.settings import cpu_list
from triptych.workloads.placement import place


def test_cpu_lists_as_docker_and_the_vm_write_them() -> None:
    assert cpu_list("0") == (0,)
    assert cpu_list("0-2,5") == (0, 1, 2, 5)
    assert cpu_list("3,1") == (1, 3)


def test_two_cpus_share_and_say_so() -> None:
    p = place((0, 1), None, pins_own=True)
    assert p.shared
    assert p.client_argv(["wrk"]) == ["wrk"]
    assert p.server_argv(["nginx"]) == ["nginx"]
    meta = p.metadata()
    assert p.kind == "shared"
    assert meta["client_cpus"] == "any"
    assert "share this machine's 2 CPUs" in str(meta["placement_note"])


def test_four_unpinned_cpus_split_in_halves() -> None:
    p = place((0, 1, 2, 3), None, pins_own=True)
    assert p.client_argv(["wrk", "-c", "8"]) == ["taskset", "-c", "2,3", "wrk", "-c", "8"]
    assert p.server_argv(["redis-server"]) == ["taskset", "-c", "0,1", "redis-server"]
    assert p.kind == "apart"


def test_a_pinned_platform_leaves_the_client_the_rest() -> None:
    # [docker] cpuset = "0-1" on 6 CPUs: the engine pins the server, the client takes 2-5.
    p = place((0, 1, 2, 3, 4, 5), cpu_list("0-1"), pins_own=True)
    assert p.client == (2, 3, 4, 5)
    assert p.server == ()
    assert p.server_argv(["postgres"]) == ["postgres"]


def test_a_platform_pinned_everywhere_shares() -> None:
    assert place((0, 1, 2, 3), (0, 1, 2, 3), pins_own=True).shared


def test_an_unpinned_guest_cannot_be_kept_apart_by_taskset() -> None:
    p = place((0, 1, 2, 3), None, pins_own=False)
    assert p.client == (2, 3)
    assert p.server == ()
    assert "set [vm] cpu_pins" in str(p.metadata()["placement_note"])
