"""The explicit list of workloads a scenario can name."""

from __future__ import annotations

from triptych.workloads.base import WorkloadBase
from triptych.workloads.cpu import StressNgCpu, SysbenchCpu
from triptych.workloads.density import Density
from triptych.workloads.disk import Fio
from triptych.workloads.memory import StressNgStream, SysbenchRandomAccess
from triptych.workloads.neighbour import Neighbour
from triptych.workloads.network import Iperf3Tcp, SockperfPingPong
from triptych.workloads.nginx import NginxWrk
from triptych.workloads.postgres import Pgbench
from triptych.workloads.redis import RedisBenchmark
from triptych.workloads.startup import Startup

WORKLOADS: dict[str, type[WorkloadBase]] = {
    w.name: w
    for w in (
        SysbenchCpu,
        StressNgCpu,
        StressNgStream,
        SysbenchRandomAccess,
        Fio,
        Iperf3Tcp,
        SockperfPingPong,
        Startup,
        Density,
        Neighbour,
        RedisBenchmark,
        NginxWrk,
        Pgbench,
    )
}
# Ports the servers of workloads listen on: a container publishes them when it is created.
SERVER_PORTS: tuple[int, ...] = tuple(
    sorted({port for w in WORKLOADS.values() if (port := getattr(w, "port", None)) is not None})
)
