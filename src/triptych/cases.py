"""What a scenario asks for, once read: its cases (a workload with its parameters, rounds,
platforms and engine settings) and how many rounds each gets (scenario.py reads the files)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from triptych.platforms.settings import EngineSettings
from triptych.workloads.base import RunSpec, Workload
from triptych.workloads.registry import WORKLOADS


@dataclass(frozen=True)
class RoundPolicy:
    """How many rounds each set-up runs: at least `rounds`; more, up to max_rounds, until its
    rounds are precise enough (triptych.stopping: against the family's set-up spread, or under
    target_ci when one is given)."""

    rounds: int
    max_rounds: int
    target_ci: float | None

    @property
    def adaptive(self) -> bool:
        return self.max_rounds > self.rounds


@dataclass(frozen=True)
class Case:
    """One workload with its parameters, as a scenario asks for it."""

    scenario: str
    name: str
    workload: str
    params: Any
    rounds: int
    spec: RunSpec
    platforms: tuple[str, ...]
    source: str
    engines: EngineSettings = field(default_factory=EngineSettings)
    policy: RoundPolicy | None = None
    passes: int = 1  # the case's rounds are spread over this many passes over all the cases
    # Independent set-ups: each starts every platform afresh and runs all of `rounds`.
    setups: int = 1
    # Up to this many set-ups: those past `setups` run only while the case's verdict on a
    # platform is open (verdict/sequential.py).
    max_setups: int = 1
    warmup: float = 1.0  # seconds of one discarded run before the rounds (0: none)
    # The case a list of values of its workload's sweep axis was given to (`connections =
    # [1, 8, 32]`); each value is a case of its own, named "SERIES-cN" after the axis's first
    # letter (empty: not part of a sweep).
    series: str = ""
    sweep_axis: str = ""
    sweep_value: float | None = None

    @property
    def looks(self) -> int:
        """How often its sequential set-ups could stop: after `setups`, and after each more."""
        return self.max_setups - self.setups + 1

    def warmup_spec(self, min_duration: float) -> RunSpec | None:
        """The warm-up run: `warmup` seconds (at least what the tool needs, at most a round)."""
        if self.warmup <= 0:
            return None
        duration = min(max(self.warmup, min_duration), self.spec.duration)
        return RunSpec(duration, self.spec.timeout)

    def rounds_in_pass(self, index: int) -> int:
        """How many of the case's rounds pass `index` (from 0) runs: as even as they go."""
        return self.rounds // self.passes + (1 if index < self.rounds % self.passes else 0)

    def first_round(self, index: int, setup: int = 0) -> int:
        """The number of the first round pass `index` of set-up `setup` runs (rounds are
        numbered across passes and set-ups; a set-up's numbers leave room for its max_rounds)."""
        stride = max(self.rounds, self.policy.max_rounds if self.policy else 0)
        return setup * stride + sum(self.rounds_in_pass(i) for i in range(index))

    @property
    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    def build(self) -> Workload:
        workload: Workload = WORKLOADS[self.workload](self.params, self.spec)  # type: ignore[assignment]
        return workload


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: str
    platforms: tuple[str, ...]
    cases: tuple[Case, ...]
    passes: int = 1
    setups: int = 1
    max_setups: int = 1
