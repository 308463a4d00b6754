"""A fake platform and a fake workload for fast runner tests: the platform runs commands on the
host (it is the host platform under another name) and can be told to fail at start, at its Nth
command or at stop; the workload prints the figures it is given, one per round, instantly.

Both are declared the way real ones are, in the platform catalog and the workload registry
(`declared()` adds them for one test): the plugin, the scenario loader, the pool and the runner
then treat them like any other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import pytest

from triptych.errors import PlatformUnavailable, TriptychError
from triptych.platforms.catalog import KINDS, PlatformKind
from triptych.platforms.host import HostPlatform
from triptych.process import CommandResult
from triptych.sample import MetaValue, Sample
from triptych.workloads.base import RunSpec, ToolWorkload, number
from triptych.workloads.registry import WORKLOADS

FAKE = PlatformKind(
    "fake",
    "none",
    ("loopback",),
    ("host-fs",),
    5,
    False,
    "tests.fake_platform:FakePlatform",
    "tests.fake_platform:clean_fake",
    "a stand-in that runs commands on the host, for tests",
)


class FakePlatform(HostPlatform):
    """The host under another name, failing where it is told to (`fail_at`: "start", "stop"
    or "command:N", the Nth command it runs, from 1). `events` lists what happened, in order."""

    name: ClassVar[str] = FAKE.name
    fail_at: ClassVar[str] = ""
    events: ClassVar[list[str]] = []
    commands: ClassVar[int] = 0

    def start(self) -> None:
        type(self).events.append("start")
        if self.fail_at == "start":
            raise PlatformUnavailable("told to fail at start")
        super().start()

    def release(self) -> list[str]:
        type(self).events.append("stop")
        left = super().release()
        return [*left, "fake resource (told to stay)"] if self.fail_at == "stop" else left

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        type(self).commands += 1
        if self.fail_at == f"command:{self.commands}":
            type(self).events.append(f"failed command {self.commands}")
            raise TriptychError(f"told to fail at command {self.commands}")
        return super().execute(argv, timeout)

    def tool_versions(self) -> dict[str, MetaValue]:
        return {"tool_fake": "fake 1.0"}  # asking every real tool would take most of a second


def clean_fake(session: str | None, scratch: object = None) -> list[str]:
    return []


@dataclass(frozen=True)
class FakeParams:
    pass


class FakeRate(ToolWorkload):
    """Prints the next of `values` (cycling) as its rate: a round is one `echo`."""

    name: ClassVar[str] = "fake-rate"
    family: ClassVar[str] = "cpu"
    tool: ClassVar[str] = "fake"
    primary_metric: ClassVar[str] = "fake rate"
    Params: ClassVar[type[FakeParams]] = FakeParams
    values: ClassVar[list[float]] = [100.0]
    printed: ClassVar[list[RunSpec]] = []  # every run's spec, the warm-up's included

    def argv(self, platform: object, variant: str, run: RunSpec) -> list[str]:
        value = self.values[len(self.printed) % len(self.values)]
        type(self).printed.append(run)
        return ["echo", repr(value)]

    def parse(self, output: str) -> list[Sample]:
        return [
            Sample("fake rate", number("echo", output, output.strip(), "rate"), "events/s", True)
        ]


@contextmanager
def declared(
    monkeypatch: pytest.MonkeyPatch, values: list[float], fail_at: str = ""
) -> Iterator[None]:
    """The fake platform and workload declared for one test, fresh (and no platform required
    unless a test asks: CI requires every real one)."""
    monkeypatch.delenv("TRIPTYCH_REQUIRE_PLATFORMS", raising=False)
    monkeypatch.setitem(KINDS, FAKE.name, FAKE)
    monkeypatch.setitem(WORKLOADS, FakeRate.name, FakeRate)
    monkeypatch.setattr(FakePlatform, "fail_at", fail_at)
    monkeypatch.setattr(FakePlatform, "events", [])
    monkeypatch.setattr(FakePlatform, "commands", 0)
    monkeypatch.setattr(FakeRate, "values", values)
    monkeypatch.setattr(FakeRate, "printed", [])
    yield
