"""Instances of a platform beyond its own (issue 24's density): a container or a guest started
on demand, waited for until a command run inside it answers, measured at rest and removed.
Each platform says how to make one (Platform.new_instance); workloads/density.py does the rest.

What an instance holds is read from the host: the drop of MemAvailable, and the proportional
set size (PSS, from /proc/PID/smaps_rollup) of the processes that carry it, which splits pages
shared between instances (the shim's libraries, a KSM-merged page) fairly among them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import psutil

from triptych.process import CommandResult

KSM_RUN = Path("/sys/kernel/mm/ksm/run")


class Instance(Protocol):
    """One extra container or guest of a platform, created by new_instance() and running."""

    name: str
    work_dir: str  # where a command run inside may write files (a neighbour's fio)

    def wait_until_answers(self, timeout: float) -> None:
        """Return once a command run inside it answered; TriptychError after `timeout`."""
        ...

    def host_pids(self) -> list[int]:
        """The host processes that carry it (a container's shim and its processes; a guest's
        QEMU)."""
        ...

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run argv inside it and wait; kill it there if it outlives timeout."""
        ...

    def pin(self, cpus: tuple[int, ...]) -> None:
        """Confine it to these host CPUs (a container's cpuset; a guest's vCPUs)."""
        ...

    def address(self) -> str:
        """Where a client on the host reaches a server inside it: its own address on the
        platform's network (a container's on the bridge, a guest's on the suite's network), or
        loopback where it shares the host's."""
        ...

    def remove(self) -> bool:
        """Stop and remove it, with what it holds (its volume, its disk); False if it may be
        left behind."""
        ...


def cpu_text(cpus: tuple[int, ...]) -> str:
    """A CPU list as Docker's cpuset and taskset write it ("0,1")."""
    return ",".join(str(c) for c in cpus)


def taskset_argv(cpus: tuple[int, ...], argv: Sequence[str]) -> list[str]:
    """argv confined to these CPUs by taskset (unchanged where none are given)."""
    return ["taskset", "-c", cpu_text(cpus), *argv] if cpus else list(argv)


def with_descendants(pid: int) -> list[int]:
    """pid and every process under it (none if it is gone)."""
    try:
        proc = psutil.Process(pid)
        return [pid, *(p.pid for p in proc.children(recursive=True))]
    except psutil.Error:
        return []


def pss_bytes(pids: list[int]) -> int:
    """The summed proportional set size of the processes (a process gone counts nothing)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total


def mem_available_bytes() -> int:
    """The kernel's estimate of memory available for new work (MemAvailable)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise OSError("/proc/meminfo has no MemAvailable")


def ksm_state() -> str:
    """Whether the kernel merges identical pages (KSM): "on", "off", or "absent" (not built)."""
    try:
        return "on" if KSM_RUN.read_text().strip() == "1" else "off"
    except OSError:
        return "absent"
