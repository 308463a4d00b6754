"""CPU workloads: sysbench's prime search and a stress-ng stressor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from triptych.errors import ParseError
from triptych.platforms.base import Platform
from triptych.sample import Sample
from triptych.validate import setting
from triptych.workloads.base import RunSpec, ToolWorkload, number, whole_seconds
from triptych.workloads.stressng import stressng_metrics

EVENTS = re.compile(r"events per second:\s*(\S+)")


@dataclass(frozen=True)
class SysbenchCpuParams:
    threads: int = setting(1, low=1, high=1024, hint="threads = 1")
    max_prime: int = setting(10000, low=100, high=10_000_000, hint="max_prime = 10000")


class SysbenchCpu(ToolWorkload):
    """`sysbench cpu`: primes up to max_prime per event; events per second."""

    name: ClassVar[str] = "sysbench-cpu"
    primary_metric: ClassVar[str] = "cpu events"
    family: ClassVar[str] = "cpu"
    tool: ClassVar[str] = "sysbench"
    Params: ClassVar[type[SysbenchCpuParams]] = SysbenchCpuParams
    params: SysbenchCpuParams

    def argv(self, platform: Platform, variant: str, run: RunSpec) -> list[str]:
        return [
            "sysbench",
            "cpu",
            f"--threads={self.params.threads}",
            f"--time={whole_seconds(run.duration)}",
            f"--cpu-max-prime={self.params.max_prime}",
            "run",
        ]

    def parse(self, output: str) -> list[Sample]:
        return parse_sysbench_cpu(output, self.params.threads)


def parse_sysbench_cpu(output: str, threads: int) -> list[Sample]:
    m = EVENTS.search(output)
    if m is None:
        raise ParseError("sysbench", "no 'events per second' line", output)
    value = number("sysbench", output, m.group(1), "events per second")
    return [Sample("cpu events", value, "events/s", True, metadata={"threads": threads})]


@dataclass(frozen=True)
class StressNgCpuParams:
    workers: int = setting(1, low=1, high=1024, hint="workers = 1")
    method: str = setting(
        "matrixprod",
        choices=("matrixprod", "int64", "double", "fft", "sqrt", "crc16", "fibonacci", "all"),
        hint='method = "matrixprod"',
    )


class StressNgCpu(ToolWorkload):
    """`stress-ng --cpu` with one method; bogo-ops per second of wall time."""

    name: ClassVar[str] = "stress-ng-cpu"
    primary_metric: ClassVar[str] = ""  # named after the method: see primary()
    family: ClassVar[str] = "cpu"
    tool: ClassVar[str] = "stress-ng"
    Params: ClassVar[type[StressNgCpuParams]] = StressNgCpuParams
    params: StressNgCpuParams

    def primary(self) -> str:
        return f"cpu {self.params.method} bogo-ops"

    def argv(self, platform: Platform, variant: str, run: RunSpec) -> list[str]:
        return [
            "stress-ng",
            "--cpu",
            str(self.params.workers),
            "--cpu-method",
            self.params.method,
            "--timeout",
            f"{whole_seconds(run.duration)}s",
            "--metrics",
            "--yaml",
            "/dev/stdout",
        ]

    def parse(self, output: str) -> list[Sample]:
        m = stressng_metrics(output, "cpu")
        value = number(
            "stress-ng",
            output,
            m.get("bogo-ops-per-second-real-time"),
            "bogo-ops-per-second-real-time",
        )
        return [
            Sample(
                self.primary(),
                value,
                "bogo-ops/s",
                True,
                metadata={"workers": self.params.workers, "method": self.params.method},
            )
        ]
