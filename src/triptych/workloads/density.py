"""Density: how many instances of a platform fit, how fast they come up, and what each holds at
rest (issue 24).

A round starts N instances one after another, each timed from its creation until a command run
inside it answers; at rest it reads what they hold, two ways (the drop of the host's
MemAvailable per instance, and the summed PSS of the processes that carry them per instance);
it removes them, then starts N at once, timed the same way, and removes them. It never lets
MemAvailable fall below a reserve: it stops before the instance that would, and says where and
why. N is the case's sweep axis (`instances = [1, 5, 10]`), so the report draws curves.

Every instance is labelled with the session like the platform's own, so a run killed half-way
leaves them to the next run's sweep.
"""

from __future__ import annotations

import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

from triptych.errors import TriptychError
from triptych.platforms.base import Platform
from triptych.platforms.instance import (
    Instance,
    ksm_state,
    mem_available_bytes,
    pss_bytes,
)
from triptych.sample import Sample
from triptych.workloads.base import RunSpec, WorkloadBase

MEMORY_PSS = "memory per instance (PSS)"
MEMORY_AVAILABLE = "memory per instance (MemAvailable drop)"
STARTED = "instances started"
MODES = ("sequential", "parallel")


def launch_metric(mode: str, stat: str) -> str:
    """ "launch time p50 (sequential)": a launch-time statistic of a round's N starts."""
    return f"launch time {stat} ({mode})"


def index_metric(mode: str, index: int) -> str:
    """ "launch time #3 (sequential)": one instance's launch time, by the order it started."""
    return f"launch time #{index} ({mode})"


INDEXED = re.compile(r"^launch time #(\d+) \((\w+)\)$")  # index_metric's names, read back


@dataclass(frozen=True)
class DensityParams:
    instances: int = 5
    reserve_mib: int = 2048  # MemAvailable never falls below this
    settle: float = 2.0  # seconds at rest before the memory is read

    def __post_init__(self) -> None:
        if not 1 <= self.instances <= 500:
            raise ValueError("instances: expected 1 to 500")
        if self.reserve_mib < 256:
            raise ValueError("reserve_mib: expected at least 256 (never exhaust the machine)")
        if not 0 <= self.settle <= 60:
            raise ValueError("settle: expected 0 to 60 seconds")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class Density(WorkloadBase):
    """N instances of the platform, started one after another and then at once."""

    name: ClassVar[str] = "density"
    family: ClassVar[str] = "density"
    target: ClassVar[str] = "lifecycle"
    tool: ClassVar[str] = "engine"
    primary_metric: ClassVar[str] = MEMORY_PSS
    sweep_axis: ClassVar[str] = "instances"
    warms_up: ClassVar[bool] = False  # every round starts its instances afresh
    Params: ClassVar[type[DensityParams]] = DensityParams
    params: DensityParams

    def prepare(self, platform: Platform, variant: str) -> None:
        return None

    def cleanup(self, platform: Platform, variant: str) -> None:
        return None

    def measure(self, platform: Platform, variant: str, run: RunSpec | None = None) -> list[Sample]:
        timeout = (run or self.spec).timeout
        started: list[Instance] = []
        try:
            before = mem_available_bytes()
            times, step, stopped = self._one_by_one(platform, timeout, started, before)
            time.sleep(self.params.settle)
            at_rest = [
                Sample(
                    MEMORY_AVAILABLE,
                    (before - mem_available_bytes()) / len(started) / 2**20,
                    "MiB",
                    False,
                ),
                Sample(
                    MEMORY_PSS,
                    sum(pss_bytes(i.host_pids()) for i in started) / len(started) / 2**20,
                    "MiB",
                    False,
                    metadata={"ksm": ksm_state()},
                ),
            ]
        finally:
            _remove(started)
        at_once, short = self._at_once(platform, timeout, len(times), step, before)
        return [
            *at_rest,
            Sample(
                STARTED,
                float(len(times)),
                "count",
                True,
                metadata={"stopped": stopped, "at_once": len(at_once), "at_once_stopped": short},
            ),
            *_launch_samples("sequential", times),
            *_launch_samples("parallel", at_once),
        ]

    def _one_by_one(
        self, platform: Platform, timeout: float, started: list[Instance], before: int
    ) -> tuple[list[float], int, str]:
        """Instances started one after another, each timed, until N or until the next one
        could take MemAvailable below the reserve (it is guessed to take as much as the
        largest drop one instance caused so far). Those started stay in `started` for the
        caller to measure and remove. Returns their launch times, that largest drop (or PSS,
        where larger), and why it stopped short ("": it did not).

        What is available is the lower of MemAvailable now and what the round found less the
        guess for each instance started: memory another process frees while they run (page
        cache, a container removed a moment ago) never lets in an instance the guess keeps out.
        """
        reserve = self.params.reserve_mib * 2**20
        times: list[float] = []
        step = 0
        for i in range(self.params.instances):
            now = mem_available_bytes()
            if min(now, before - len(started) * step) - step < reserve:
                why = f"MemAvailable would fall below its {self.params.reserve_mib} MiB reserve"
                if not started:
                    raise TriptychError(f"density: {why} with the first instance")
                return times, step, f"stopped at {len(times)}: {why}"
            t0 = time.monotonic()
            started.append(platform.new_instance(f"n{i}"))
            started[-1].wait_until_answers(timeout)
            times.append(time.monotonic() - t0)
            # The guess: the largest an instance took by either measure (MemAvailable moves
            # with the rest of the machine and can even rise; an instance's PSS cannot be 0).
            took = max(now - mem_available_bytes(), pss_bytes(started[-1].host_pids()))
            step = max(step, took)
        return times, step, ""

    def _at_once(
        self, platform: Platform, timeout: float, n: int, step: int, before: int
    ) -> tuple[list[float], str]:
        """As many of n instances as the reserve allows (each guessed to take `step`, the
        largest drop one took when started one by one), started together and each timed.
        What is available is the lower of MemAvailable now and what the round found (`before`).
        Returns their launch times and why it started fewer than n ("": it did not)."""
        reserve = self.params.reserve_mib * 2**20
        available = min(mem_available_bytes(), before)
        k = n
        while k > 0 and available - k * step < reserve:
            k -= 1
        short = (
            f"started {k} of {n} at once: MemAvailable would fall below its "
            f"{self.params.reserve_mib} MiB reserve"
            if k < n
            else ""
        )
        made: list[Instance] = []

        def one(i: int) -> float:
            t0 = time.monotonic()
            inst = platform.new_instance(f"p{i}")
            made.append(inst)
            inst.wait_until_answers(timeout)
            return time.monotonic() - t0

        if k == 0:
            return [], short
        try:
            with ThreadPoolExecutor(max_workers=k) as pool:
                return list(pool.map(one, range(k))), short
        finally:
            _remove(made)


def _remove(instances: list[Instance]) -> None:
    left = [i.name for i in instances if not i.remove()]
    instances.clear()
    if left:
        raise TriptychError(
            f"density: could not remove {', '.join(left)}; the next run sweeps them"
        )


def _launch_samples(mode: str, times: list[float]) -> list[Sample]:
    if not times:
        return []
    stats = {
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "max": max(times),
    }
    return [
        *(Sample(launch_metric(mode, k), v, "s", False) for k, v in stats.items()),
        *(Sample(index_metric(mode, i), t, "s", False) for i, t in enumerate(times)),
    ]
