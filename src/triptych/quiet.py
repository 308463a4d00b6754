"""How busy the machine was during a round: the CPU time of processes that are neither this run
nor the engines it drives (Docker, containerd and their containers, libvirt and its guests), as
a share of the machine, and the load average. A run measured beside other work says so."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

# Engines and their descendants: the containers and guests the run measures live under them.
ENGINES = frozenset(
    {
        "dockerd",
        "containerd",
        "containerd-shim",
        "containerd-shim-runc-v2",
        "docker-proxy",
        "runc",
        "libvirtd",
        "virtlogd",
        "virtlockd",
        "qemu-system-x86_64",
    }
)
KTHREADD = 2  # the parent of every kernel thread on Linux
BUSY_SHARE = 0.05  # foreign CPU above this share of the machine in a round: not quiet


@dataclass(frozen=True)
class Snapshot:
    when: float
    foreign: dict[int, float]  # pid -> CPU seconds so far, for processes outside the run


def _processes() -> Iterator[tuple[int, int, str, float]]:
    for p in psutil.process_iter(["pid", "ppid", "name", "cpu_times"]):
        info = p.info
        times = info.get("cpu_times")
        if times is None:
            continue
        yield info["pid"], info["ppid"] or 0, info["name"] or "", times.user + times.system


def snapshot() -> Snapshot:
    """CPU time so far of every process outside this run's tree and the engines' trees."""
    procs = list(_processes())
    parent = {pid: ppid for pid, ppid, _, _ in procs}
    # Kernel threads (kthreadd's children: writeback, kworkers) flush and serve the run's own
    # I/O; they are counted as the run's, not as other work.
    roots = {os.getpid(), KTHREADD} | {pid for pid, _, name, _ in procs if name in ENGINES}

    def ours(pid: int) -> bool:
        seen = 0
        while pid and seen < 64:
            if pid in roots:
                return True
            pid, seen = parent.get(pid, 0), seen + 1
        return False

    foreign = {pid: cpu for pid, _, _, cpu in procs if not ours(pid)}
    return Snapshot(time.monotonic(), foreign)


def foreign_share(before: Snapshot, after: Snapshot) -> float:
    """The machine's CPU used by foreign processes between two snapshots (0 to 1: 1 is every
    core busy). Processes that started and ended in between are not seen."""
    used = sum(cpu - before.foreign.get(pid, 0.0) for pid, cpu in after.foreign.items())
    wall = (after.when - before.when) * (os.cpu_count() or 1)
    return max(0.0, used / wall) if wall > 0 else 0.0


@dataclass(frozen=True)
class Quietness:
    """What a round records about the machine: foreign CPU share and the 1-minute load."""

    foreign_cpu: float
    load1: float


def round_quietness(before: Snapshot) -> Quietness:
    """The machine's quietness since `before`."""
    return Quietness(round(foreign_share(before, snapshot()), 4), round(os.getloadavg()[0], 2))
