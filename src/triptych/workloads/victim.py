"""The neighbour's victim: a tool run on the platform's own instance (sysbench's CPU or random
memory access, fio's direct random 4k reads on a file of its own), or a server there with its
client on the host (sockperf's ping-pong over the platform's own network path: loopback, the
bridge, the published port, the guest's virtio device). Either way one round gives one figure,
its primary metric, taken on the victim's CPU and, in the host's cgroup row, inside the victim's
group.
"""

from __future__ import annotations

from triptych.errors import TriptychError
from triptych.platforms import cgroups
from triptych.platforms.base import Platform
from triptych.platforms.instance import cpu_text, taskset_argv
from triptych.sample import Sample
from triptych.workloads.base import RunSpec, ToolWorkload
from triptych.workloads.cpu import SysbenchCpu
from triptych.workloads.disk import Fio
from triptych.workloads.memory import SysbenchRandomAccess
from triptych.workloads.network import SockperfPingPong
from triptych.workloads.placement import Placement
from triptych.workloads.server import ServerWorkload

# Victims that report a figure from a round of a second or two (stress-ng's stream needs five).
VICTIMS: dict[str, type[ToolWorkload] | type[ServerWorkload]] = {
    w.name: w for w in (SysbenchCpu, SysbenchRandomAccess, Fio, SockperfPingPong)
}


class Victim:
    """One victim workload (with its default parameters), placed on the victim's CPUs."""

    def __init__(self, name: str, spec: RunSpec) -> None:
        kind = VICTIMS[name]
        self.workload: ToolWorkload | ServerWorkload = kind(kind.Params(), spec)
        self.name = name
        self._cpus: tuple[int, ...] = ()
        self._group: cgroups.Cgroup | None = None

    def variant(self, platform: Platform) -> str:
        """Where the victim's work lands: the platform's own path for its target (a disk
        victim's file on the platform's first disk variant, a network victim through the
        platform's own network path, as those cases' columns)."""
        return platform.kind.variants(self.workload.target)[0]

    def prepare(
        self, platform: Platform, cpus: tuple[int, ...], group: cgroups.Cgroup | None
    ) -> None:
        """Its own set-up (fio's file; the server, started on the victim's CPU and, in the
        host's cgroup row, inside the victim's group)."""
        self._cpus, self._group = cpus, group
        if isinstance(self.workload, ServerWorkload):
            own = platform.pins_own_servers  # elsewhere the platform is confined to them
            self.workload.placed = Placement(
                (),
                cpus if own else (),
                f"the victim's server on CPU {cpu_text(cpus)}, its client on any CPU"
                if own
                else f"the victim's instance confined to CPU {cpu_text(cpus)}, its client on any",
                tuple(group.join([])) if group is not None else (),
            )
        self.workload.prepare(platform, self.variant(platform))

    def once(self, platform: Platform, run: RunSpec) -> Sample:
        """One figure of its primary metric."""
        if isinstance(self.workload, ServerWorkload):
            samples = self.workload.measure(platform, self.variant(platform), run)
        else:
            argv = self.workload.argv(platform, self.variant(platform), run)
            if platform.pins_own_servers:
                argv = taskset_argv(self._cpus, argv)
            if self._group is not None:
                argv = self._group.join(argv)
            result = platform.execute(argv, run.timeout)
            result.check(platform.name)
            samples = self.workload.parse(result.stdout)
        primary = self.workload.primary()
        for s in samples:
            if s.metric == primary:
                return s
        raise TriptychError(f"neighbour: the victim {self.name} gave no {primary!r}")

    def cleanup(self, platform: Platform) -> None:
        self.workload.cleanup(platform, self.variant(platform))
