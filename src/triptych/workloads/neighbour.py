"""Isolation: how much a noisy neighbour hurts (issue 24 item 3).

A victim (sysbench's CPU or random memory access, fio's direct random 4k reads on a file of its
own, or sockperf's round trip to a server there, each with its default parameters: victim.py)
runs on the platform's own instance, alone and then
beside an aggressor (stress-ng's cpu or stream stressor, fio writing, or an iperf3 flood on the
instance's own loopback or from the host over the platform's own path: aggressor.py) on a second
instance of the same
platform: a second container with the scenario's limits, a second guest. On the host both are
plain processes (the flood's server as the service user): no isolation, the baseline every
platform's slowdown is compared with; and again (the host's "cgroup" variant) each in a cgroup
of its own with a container's limits and nothing else of a container (platforms/cgroups.py),
which tells what cgroups give from what containers and guests add. `cpus` places them: on one
host CPU ("same": the scheduler's fairness under the limits decides), or on two ("other": what
they still share is caches, memory bandwidth, the disk and the kernel's network stack).

Each round gives the victim's figure alone, beside the neighbour, and the slowdown between the
two (the same round's pair, oriented by the victim's direction: 1.0x is perfect isolation).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from triptych.errors import NotApplicable, TriptychError
from triptych.platforms import cgroups
from triptych.platforms.base import Platform
from triptych.platforms.catalog import CGROUP
from triptych.platforms.instance import Instance, cpu_text, taskset_argv, with_descendants
from triptych.process import CommandResult, LocalProcess
from triptych.sample import Sample
from triptych.validate import setting
from triptych.workloads.aggressor import (
    AGGRESSORS,
    BUSY,
    BUSY_WAIT,
    PATH_FLOOD,
    PID_WRAPPER,
    PIDFILE,
    aggressor_argv,
    client_pids,
    ended,
    path_client,
    path_client_argv,
    unprivileged,
    wait_busy,
)
from triptych.workloads.base import RunSpec, WorkloadBase
from triptych.workloads.victim import VICTIMS, Victim

SLOWDOWN = "victim slowdown beside the neighbour"
LEAD = 1.0  # seconds the aggressor runs, busy, before the victim starts


ALONE, BESIDE = " (alone)", " (beside the neighbour)"  # what the victim's metric is named


def alone_metric(metric: str) -> str:
    return metric + ALONE


def beside_metric(metric: str) -> str:
    return metric + BESIDE


@dataclass(frozen=True)
class NeighbourParams:
    victim: str = setting("sysbench-cpu", choices=tuple(VICTIMS))
    aggressor: str = setting("cpu", choices=AGGRESSORS)
    cpus: str = setting("same", choices=("same", "other"))


class HostProcess:
    """The host's neighbour: a process beside the victim's, with nothing between them."""

    name = "host process"

    def __init__(self, platform: Platform, group: cgroups.Cgroup | None = None) -> None:
        self._platform = platform
        self._cpus: tuple[int, ...] = ()
        self._group = group  # where its commands start (the cgroup variant), or none
        self.work_dir = platform.scratch(platform.disk_variants[0]).path

    def wait_until_answers(self, timeout: float) -> None:
        return None

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        pinned = taskset_argv(self._cpus, argv)
        return self._platform.execute(self._group.join(pinned) if self._group else pinned, timeout)

    def pin(self, cpus: tuple[int, ...]) -> None:
        self._cpus = cpus

    def address(self) -> str:
        return "127.0.0.1"  # the host's own loopback

    def host_pids(self) -> list[int]:
        """The aggressor and its workers, by the pid file it wrote (none before it did). The
        file is believed only if it names a process this one started: a pid file that names any
        other (pid 1, a reused pid) counts nothing."""
        try:
            pid = int((Path(self.work_dir) / PIDFILE).read_text(encoding="ascii").strip())
        except (OSError, ValueError, UnicodeDecodeError):
            return []
        if pid not in with_descendants(os.getpid())[1:]:
            return []
        return with_descendants(pid)

    def remove(self) -> bool:
        (Path(self.work_dir) / PIDFILE).unlink(missing_ok=True)
        return True


def placement(platform: Platform, cpus: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Host CPUs for the victim and for the aggressor: the victim on the first CPU the platform
    may use (the scenario's cpuset or pins, else the suite's), the aggressor there too ("same")
    or on another ("other")."""
    allowed = sorted(os.sched_getaffinity(0))
    pinned = platform.pinned_cpus() or ()
    victim = (min(pinned or allowed),)
    if cpus == "same":
        return victim, victim
    rest = [c for c in pinned if c not in victim]
    rest = rest or [c for c in allowed if c not in victim]
    if not rest:
        raise NotApplicable("a neighbour on other CPUs needs a second CPU")
    return victim, (rest[0],)


class Neighbour(WorkloadBase):
    """A victim alone and beside an aggressor on a second instance of the platform."""

    name: ClassVar[str] = "neighbour"
    family: ClassVar[str] = "isolation"
    target: ClassVar[str] = "isolation"
    tool: ClassVar[str] = "stress-ng"
    primary_metric: ClassVar[str] = SLOWDOWN
    min_duration: ClassVar[float] = max(v.min_duration for v in VICTIMS.values())
    Params: ClassVar[type[NeighbourParams]] = NeighbourParams
    params: NeighbourParams

    def __init__(self, params: NeighbourParams, spec: RunSpec) -> None:
        super().__init__(params, spec)
        self.victim = Victim(params.victim, spec)
        self._neighbour: Instance | HostProcess | None = None
        self._cpus: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
        self._measured = 0  # rounds (and the warm-up) so far: the order alternates
        self._groups: list[cgroups.Cgroup] = []  # the victim's and the neighbour's (cgroup)
        self._limits = ""  # the groups' limits, as the samples record them
        self._victim_ready = False  # its own set-up made (fio's file), to be removed

    def prepare(self, platform: Platform, variant: str) -> None:
        """The neighbour, placed (and, through the host's cgroup variant, both groups); what
        it made is removed again if it fails half-way (the runner cleans up only after it)."""
        self._cpus = placement(platform, self.params.cpus)
        try:
            if variant == CGROUP:
                self._group_both(platform)
            try:
                neighbour: Instance | HostProcess = platform.new_instance("neighbour")
            except NotApplicable:
                # The host: two processes, nothing between them (or only their cgroups).
                neighbour = HostProcess(platform, self._groups[1] if self._groups else None)
            self._neighbour = neighbour
            neighbour.wait_until_answers(max(self.spec.timeout, 300.0))
            neighbour.pin(self._cpus[1])
            if not platform.pins_own_servers:
                platform.confine(self._cpus[0])
            self._victim_ready = True  # what a failed prepare left half-made is removed too
            self.victim.prepare(platform, self._cpus[0], self._groups[0] if self._groups else None)
        except BaseException:
            self.cleanup(platform, variant)
            raise

    def _cores(self, platform: Platform) -> float:
        """The CPUs' worth the aggressor may use: its CPUs, or its limit where lower and
        something holds it to one (a container's `[docker] cpus`, the host's cgroup row's
        group); the host's plain process has no limit, whatever the scenario gives containers."""
        if isinstance(self._neighbour, HostProcess) and not self._groups:
            return len(self._cpus[1])
        try:
            cap = platform.cgroup_limits().cpus
        except NotApplicable:
            cap = None
        return min(len(self._cpus[1]), cap) if cap is not None else len(self._cpus[1])

    def _group_both(self, platform: Platform) -> None:
        """A cgroup with a container's limits for the victim and one for the neighbour,
        each on its own CPUs as a container would be by its cpuset."""
        limits = platform.cgroup_limits()
        self._limits = limits.text()
        for tag, cpus in (("victim", self._cpus[0]), ("neighbour", self._cpus[1])):
            self._groups.append(cgroups.create(platform.session, tag, limits, cpus))

    def _ungroup(self) -> None:
        groups, self._groups = self._groups, []
        left = [g.name for g in groups if not g.remove()]
        if left:
            raise TriptychError(
                f"neighbour: could not remove cgroup(s) {', '.join(left)}; the next run sweeps them"
            )

    def cleanup(self, platform: Platform, variant: str) -> None:
        neighbour, self._neighbour = self._neighbour, None
        ready, self._victim_ready = self._victim_ready, False
        try:
            if ready and platform.healthy():
                self.victim.cleanup(platform)
        finally:
            self._unplace(platform, neighbour)

    def _unplace(self, platform: Platform, neighbour: Instance | HostProcess | None) -> None:
        try:
            if not platform.pins_own_servers and platform.healthy():
                platform.confine(None)
        finally:
            try:
                if neighbour is not None and not neighbour.remove():
                    raise TriptychError(
                        f"neighbour: could not remove {neighbour.name}; the next run sweeps it"
                    )
            finally:
                self._ungroup()

    def _beside(self, platform: Platform, variant: str, run: RunSpec) -> Sample:
        """The victim's figure while the aggressor runs on the neighbour: started first, and
        the victim only once the neighbour's host processes (and a path flood's client) are
        busy (a guest under emulation may take seconds to start a program), stopped once the
        victim is done."""
        neighbour = self._neighbour
        if neighbour is None:
            raise TriptychError("neighbour: measured before prepare()")
        kind = self.params.aggressor
        seconds = math.ceil(BUSY_WAIT + run.duration + 2 * LEAD)  # its bound, if a stop fails
        pidfile = f"{neighbour.work_dir}/{PIDFILE}"
        aggressor = aggressor_argv(kind, len(self._cpus[1]), seconds, neighbour.work_dir)
        if kind in ("network", PATH_FLOOD) and isinstance(neighbour, HostProcess):
            aggressor = unprivileged(aggressor)  # its server listens on the host's loopback
        argv = [*PID_WRAPPER, pidfile, *aggressor]
        done: list[CommandResult | BaseException] = []

        def aggress() -> None:
            try:
                done.append(neighbour.execute(argv, seconds + run.timeout))
            except BaseException as e:  # handed to the measuring thread
                done.append(e)

        neighbour.execute(["rm", "-f", pidfile], 60).check(neighbour.name)  # not a last round's
        thread = threading.Thread(target=aggress, name="neighbour", daemon=True)
        thread.start()
        client = None
        try:
            client = self._path_client(platform, neighbour, seconds) if kind == PATH_FLOOD else None
            busy = BUSY[kind] * self._cores(platform)
            wait_busy(
                neighbour.name, lambda: neighbour.host_pids() + client_pids(client), busy, done
            )
            time.sleep(LEAD)
            beside = self.victim.once(platform, run)
            if done:
                raise ended(neighbour.name, done[0], "before the victim did")
        finally:
            # Only while it runs: until its end is waited for, its pid cannot be another's.
            if not done:
                neighbour.execute(["pkill", "-TERM", "-F", pidfile], 60)
            if client is not None:
                client.stop()
            thread.join(seconds + run.timeout + 60)
        return beside

    def _path_client(
        self, platform: Platform, neighbour: Instance | HostProcess, seconds: int
    ) -> LocalProcess:
        """The path flood's host client, sending to the neighbour's address from the
        aggressor's CPUs (in the host's cgroup row, from inside the neighbour's group)."""
        enter = tuple(self._groups[1].join([])) if self._groups else ()
        streams = len(self._cpus[1])
        argv = path_client_argv(neighbour.address(), self._cpus[1], seconds, streams, enter)
        return path_client(platform.session, argv)

    def measure(self, platform: Platform, variant: str, run: RunSpec | None = None) -> list[Sample]:
        run = run or self.spec
        # Alone first, then beside, and the other way round in the next round: a drift over
        # the run (a guest's translation cache warming, a page cache filling) cancels out of
        # the slowdown's median instead of leaning every round one way.
        self._measured += 1
        if self._measured % 2:
            alone = self.victim.once(platform, run)
            beside = self._beside(platform, variant, run)
        else:
            beside = self._beside(platform, variant, run)
            alone = self.victim.once(platform, run)
        oriented = (
            alone.value / beside.value if alone.higher_is_better else beside.value / alone.value
        )
        meta = {
            "victim": self.victim.name,
            "aggressor": self.params.aggressor,
            "victim_cpus": cpu_text(self._cpus[0]),
            "aggressor_cpus": cpu_text(self._cpus[1]),
            **({"cgroup_limits": self._limits} if self._groups else {}),
        }
        return [
            replace(alone, metric=alone_metric(alone.metric), metadata=meta),
            replace(beside, metric=beside_metric(beside.metric), metadata=meta),
            Sample(SLOWDOWN, oriented, "x", False, metadata=meta),
        ]
