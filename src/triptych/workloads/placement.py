"""Where a service's load generator (on the host) and its server (on the platform) run.

On a machine with few CPUs the client competes with the server for them, and the figure measures
both: that is recorded, never hidden. With 4 or more CPUs they are kept apart: the client gets
the CPUs the platform does not use (`[docker] cpuset`, `[vm] cpu_pins`), or, when the platform
is not pinned, the server gets the first half and the client the second.
"""

from __future__ import annotations

from dataclasses import dataclass

from triptych.platforms.instance import cpu_text, taskset_argv
from triptych.sample import MetaValue

APART_FROM = 4  # CPUs a machine needs before client and server are pinned apart


@dataclass(frozen=True)
class Placement:
    """CPUs for the client and for the server; empty: not pinned."""

    client: tuple[int, ...]
    server: tuple[int, ...]
    note: str
    # A fixed command prefix root starts the server under, before it drops to the service
    # user (the host's cgroup join, for a neighbour's victim); empty: none.
    enter: tuple[str, ...] = ()

    @property
    def shared(self) -> bool:
        return not self.client

    @property
    def kind(self) -> str:
        """What a round records (record.Round.client_placement): "shared" or "apart"."""
        return "shared" if self.shared else "apart"

    def client_argv(self, argv: list[str]) -> list[str]:
        return taskset_argv(self.client, argv)

    def server_argv(self, argv: list[str]) -> list[str]:
        return taskset_argv(self.server, argv)

    def metadata(self) -> dict[str, MetaValue]:
        return {
            "client_cpus": cpu_text(self.client) or "any",
            "server_cpus": cpu_text(self.server) or "the platform's",
            "placement_note": self.note,
        }


def place(cpus: tuple[int, ...], pinned: tuple[int, ...] | None, pins_own: bool) -> Placement:
    """The placement on a machine with `cpus`, for a platform pinned to `pinned` (None: not
    pinned), which can pin its server itself (`pins_own`: taskset works there; a guest's
    vCPUs are not host CPUs)."""
    if len(cpus) < APART_FROM:
        return Placement(
            (),
            (),
            f"client and server share this machine's {len(cpus)} CPUs (fewer than "
            f"{APART_FROM}: not pinned apart); the figures include their contention",
        )
    if pinned:
        rest = tuple(c for c in cpus if c not in pinned)
        if not rest:
            return Placement((), (), "the platform is pinned to every CPU: the client shares them")
        note = f"client on CPUs {cpu_text(rest)}, the platform on {cpu_text(pinned)}"
        return Placement(rest, (), note)
    half = len(cpus) // 2
    server, client = cpus[:half], cpus[half:]
    if pins_own:
        return Placement(
            client, server, f"client on CPUs {cpu_text(client)}, server on {cpu_text(server)}"
        )
    return Placement(
        client,
        (),
        f"client on CPUs {cpu_text(client)}; the guest's vCPUs are not pinned and may run there "
        "too (set [vm] cpu_pins to keep them apart)",
    )
