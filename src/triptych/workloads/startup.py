"""Startup: how long a fresh instance of the platform takes to answer, and what it costs idle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from triptych.platforms.base import Platform
from triptych.sample import Sample
from triptych.workloads.base import WorkloadBase


@dataclass(frozen=True)
class StartupParams:
    pass


class Startup(WorkloadBase):
    """One cold start per round (a new container or guest beside the long-lived one)."""

    name: ClassVar[str] = "startup"
    family: ClassVar[str] = "startup"
    target: ClassVar[str] = "lifecycle"
    tool: ClassVar[str] = "engine"
    Params: ClassVar[type[StartupParams]] = StartupParams
    params: StartupParams

    def prepare(self, platform: Platform, variant: str) -> None:
        return None

    def run(self, platform: Platform, variant: str) -> list[Sample]:
        return platform.cold_start(self.spec.timeout)

    def cleanup(self, platform: Platform, variant: str) -> None:
        return None
