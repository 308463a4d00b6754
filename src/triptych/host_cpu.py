"""The host's CPU time spent on a round, by what spent it (issue 24): the work the platform
carries costs the machine its own CPU and the platform's.

Four parts, in CPU-seconds over the round's wall time:
- `client`: processes this run started on the host, live and reaped: the tool itself on the
  host platform, the load generator of a server on every platform;
- `inside`: the instance's own processes: a container's cgroup (every process in it, the ones
  that ended included); a guest's vCPU threads (the guest's kernel and its programs);
- `platform`: what carries the instance: the container's shim, dockerd, containerd and
  docker-proxy; QEMU's other threads (main loop, I/O threads, workers, ended ones included),
  its vhost kernel threads, libvirtd and virtlogd;
- `softirq`: the kernel's softirq time on every CPU (packets received and sent, block I/O
  completions): the machine's, not attributed to anyone.

Read from /proc and the cgroup files, never by running anything.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

from triptych import fields

TICK = os.sysconf("SC_CLK_TCK")
PARTS = ("client", "inside", "platform", "softirq")


@dataclass(frozen=True)
class Carriers:
    """What carries a platform's instance on the host (each platform says, platforms/*.py)."""

    cgroups: tuple[Path, ...] = ()  # CPU usage files of the instance's cgroups
    vmm: tuple[int, ...] = ()  # VMM processes: vCPU threads are inside, the rest the platform's
    processes: tuple[int, ...] = ()  # the platform's own processes for this instance (a shim)
    engines: frozenset[str] = frozenset()  # the platform's shared daemons, by process name


@dataclass(frozen=True)
class HostCpu:
    """One round's host CPU, by part (CPU-seconds), and the round's wall seconds."""

    wall: float
    client: float
    inside: float
    platform: float
    softirq: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 4) for k in ("wall", *PARTS)}

    @classmethod
    def from_dict(cls, d: object) -> HostCpu:
        if not isinstance(d, dict):
            raise fields.FieldError(f"host_cpu: expected an object, got {type(d).__name__}")
        got = {k: fields.real(d, k) for k in ("wall", *PARTS)}
        if any(v < 0 for v in got.values()):
            raise fields.FieldError("host_cpu: a CPU time or wall time below zero")
        return cls(**got)


@dataclass(frozen=True)
class Reading:
    when: float
    reaped: float  # CPU of this process's children that ended and were waited for
    live: dict[int, tuple[float, bool]] = field(default_factory=dict)  # pid -> (CPU, a child)
    inside: float = 0.0
    platform: float = 0.0
    softirq: float = 0.0


def _stat_cpu(path: Path) -> float:
    """utime + stime of a /proc/.../stat file, in seconds (0: gone)."""
    try:
        text = path.read_text()
    except OSError:
        return 0.0
    after = text[text.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses
    return (int(after[11]) + int(after[12])) / TICK


def _comm(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _cgroup_seconds(path: Path) -> float:
    """A cgroup's CPU so far: cpuacct.usage (v1, ns) or cpu.stat's usage_usec (v2)."""
    try:
        text = path.read_text()
    except OSError:
        return 0.0
    if path.name == "cpuacct.usage":
        return int(text.strip()) / 1e9
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    return 0.0


def cgroup_cpu_file(pid: int) -> Path | None:
    """The file holding the CPU time of the cgroup `pid` is in (v1 cpuacct, else v2)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    unified = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            for mount in (controllers, "cpuacct", "cpu,cpuacct"):
                f = Path("/sys/fs/cgroup", mount) / path.lstrip("/") / "cpuacct.usage"
                if f.exists():
                    return f
        if controllers == "":
            unified = path
    if unified is not None:
        for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            f = Path(root) / unified.lstrip("/") / "cpu.stat"
            if f.exists():
                return f
    return None


def _vmm(pid: int) -> tuple[float, float]:
    """A VMM's (vCPU threads', every other thread's) CPU so far: QEMU names its vCPU threads
    "CPU n/KVM" or "CPU n/TCG"; the process's own total includes threads that ended."""
    total = _stat_cpu(Path(f"/proc/{pid}/stat"))
    vcpu = 0.0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            if _comm(task / "comm").startswith("CPU "):
                vcpu += _stat_cpu(task / "stat")
    return vcpu, max(0.0, total - vcpu)


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent, name) of every process."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                text = (d / "stat").read_text()
                name = text[text.find("(") + 1 : text.rfind(")")]
                out.append((int(d.name), int(text[text.rfind(")") + 2 :].split()[1]), name))
    return out


def _softirq() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(first[7]) / TICK
    return 0.0


def read(carriers: Carriers) -> Reading:
    """The CPU so far of everything a round's figures will be split over."""
    me = os.getpid()
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, parent, _ in procs:
        children.setdefault(parent, []).append(pid)
    live: dict[int, tuple[float, bool]] = {}
    todo = list(children.get(me, []))
    while todo:
        pid = todo.pop()
        live[pid] = (_stat_cpu(Path(f"/proc/{pid}/stat")), pid in children.get(me, []))
        todo.extend(children.get(pid, []))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    inside = sum(_cgroup_seconds(f) for f in carriers.cgroups)
    platform = 0.0
    vhost = {f"vhost-{pid}" for pid in carriers.vmm}
    for pid in carriers.vmm:
        vcpu, rest = _vmm(pid)
        inside += vcpu
        platform += rest
    for pid, _, name in procs:
        if name in carriers.engines or name in vhost or pid in carriers.processes:
            platform += _stat_cpu(Path(f"/proc/{pid}/stat"))
    return Reading(
        time.monotonic(), usage.ru_utime + usage.ru_stime, live, inside, platform, _softirq()
    )


def since(before: Reading, carriers: Carriers) -> HostCpu:
    """The host CPU spent since `before`, by part. A child alive before and waited for since
    counts only its CPU after `before` (its whole life is in the reaped total)."""
    after = read(carriers)
    client = after.reaped - before.reaped
    for pid, (cpu, _) in after.live.items():
        client += cpu - before.live.get(pid, (0.0, False))[0]
    for pid, (cpu, child) in before.live.items():
        if pid not in after.live and child:
            client -= cpu
    return HostCpu(
        wall=after.when - before.when,
        client=max(0.0, client),
        inside=max(0.0, after.inside - before.inside),
        platform=max(0.0, after.platform - before.platform),
        softirq=max(0.0, after.softirq - before.softirq),
    )
