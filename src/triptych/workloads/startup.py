"""Startup: how long a fresh instance of the platform takes to answer, and what it costs idle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from triptych.platforms.base import ColdStart, Platform
from triptych.sample import Sample
from triptych.workloads.base import RunSpec, WorkloadBase

TIME_TO_FIRST_EXEC = "startup time to first exec"
IDLE_MEMORY = "memory footprint at idle"


@dataclass(frozen=True)
class StartupParams:
    pass


def startup_samples(cold: ColdStart) -> list[Sample]:
    """A cold start as the two figures the report shows for it."""
    return [
        Sample(TIME_TO_FIRST_EXEC, cold.seconds, "s", False),
        Sample(
            IDLE_MEMORY,
            cold.memory_bytes / 2**20,
            "MiB",
            False,
            metadata={"measured": cold.memory_measured},
        ),
    ]


class Startup(WorkloadBase):
    """One cold start per round (a new container or guest beside the long-lived one), timed
    until a command run inside it answers."""

    name: ClassVar[str] = "startup"
    family: ClassVar[str] = "startup"
    target: ClassVar[str] = "lifecycle"
    tool: ClassVar[str] = "engine"
    primary_metric: ClassVar[str] = TIME_TO_FIRST_EXEC
    Params: ClassVar[type[StartupParams]] = StartupParams
    params: StartupParams
    # Every round is a cold start of its own, from an image the platform's own start (its
    # long-lived container or guest) has just read: a discarded start first would cost a round
    # and warm nothing (a quick run under TCG: the warm-up boot 20.0 s, the rounds 20.1, 19.6).
    warms_up: ClassVar[bool] = False

    def prepare(self, platform: Platform, variant: str) -> None:
        return None

    def measure(self, platform: Platform, variant: str, run: RunSpec | None = None) -> list[Sample]:
        return startup_samples(platform.cold_start((run or self.spec).timeout))

    def cleanup(self, platform: Platform, variant: str) -> None:
        return None
