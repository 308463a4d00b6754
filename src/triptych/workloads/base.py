"""The Workload contract (prepare / run / cleanup) and the helpers simple tools share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from triptych.errors import ParseError
from triptych.platforms.base import Platform
from triptych.sample import Sample


@dataclass(frozen=True)
class RunSpec:
    """How long one round measures, and when to give up on it."""

    duration: float
    timeout: float


class Workload(Protocol):
    """One measurement: prepare once on a platform, measure once per round, clean up."""

    name: ClassVar[str]
    family: ClassVar[str]
    target: ClassVar[str]
    tool: ClassVar[str]
    min_duration: ClassVar[float]
    warms_up: ClassVar[bool]
    spec: RunSpec  # how long a round measures (the warm-up passes its own to measure())

    def prepare(self, platform: Platform, variant: str) -> None: ...

    def measure(self, platform: Platform, variant: str, run: RunSpec | None = None) -> list[Sample]:
        """One round (or, given `run`, a run of that length: the warm-up)."""
        ...

    def primary(self) -> str: ...

    def client_placement(self) -> str:
        """Where its load generator ran against its server ("apart", "shared"; "": no client)."""
        ...

    def cleanup(self, platform: Platform, variant: str) -> None: ...


class WorkloadBase:
    """What every workload class declares: its name, family, tool and typed parameters."""

    name: ClassVar[str]
    family: ClassVar[str]
    # Which platform variants it runs through: "compute" (none), "disk" (disk backings),
    # "network" (network paths) or "lifecycle" (starts instances of its own; not on the host).
    target: ClassVar[str] = "compute"
    tool: ClassVar[str]
    # The figure that stands for the case in the family summary and the terminal (the
    # workload's main figure, e.g. events/s); primary() may choose it from the parameters.
    primary_metric: ClassVar[str]
    min_duration: ClassVar[float] = 1.0
    # Whether a discarded run before the rounds helps (not where every round starts afresh,
    # and a run before them would cost a whole round).
    warms_up: ClassVar[bool] = True
    # The parameter a scenario may give as a list, one case per value, drawn as a curve
    # ("connections"; "" : none).
    sweep_axis: ClassVar[str] = ""
    Params: ClassVar[type[Any]]

    def __init__(self, params: Any, spec: RunSpec) -> None:  # noqa: ANN401
        self.params = params
        self.spec = spec

    def primary(self) -> str:
        """The metric that stands for this case."""
        return self.primary_metric

    def client_placement(self) -> str:
        """No client of its own: a workload with a load generator says where it ran."""
        return ""


class ToolWorkload(WorkloadBase):
    """A workload that is one command on the platform per round; subclasses give argv and parse."""

    def argv(self, platform: Platform, variant: str, run: RunSpec) -> list[str]:
        raise NotImplementedError

    def parse(self, output: str) -> list[Sample]:
        raise NotImplementedError

    def prepare(self, platform: Platform, variant: str) -> None:
        return None

    def measure(self, platform: Platform, variant: str, run: RunSpec | None = None) -> list[Sample]:
        run = run or self.spec
        result = platform.execute(self.argv(platform, variant, run), run.timeout)
        result.check(platform.name)
        return self.parse(result.stdout)

    def cleanup(self, platform: Platform, variant: str) -> None:
        return None


def whole_seconds(duration: float) -> int:
    """Tools that take integer seconds get the duration rounded up, never zero."""
    return max(1, math.ceil(duration))


def number(tool: str, raw: str, text: object, what: str) -> float:
    """A float from a tool's output, or a ParseError naming what was missing."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParseError(tool, f"{what} is not a number: {text!r}", raw) from None
    if not math.isfinite(value):
        raise ParseError(tool, f"{what} is not finite: {text!r}", raw)
    return value
