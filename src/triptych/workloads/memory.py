"""Memory workloads: STREAM-like bandwidth (stress-ng) and random-access time (sysbench)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from triptych.errors import ParseError
from triptych.platforms.base import Platform
from triptych.sample import MetaValue, Sample
from triptych.validate import setting, size_setting
from triptych.workloads.base import RunSpec, ToolWorkload, number, whole_seconds
from triptych.workloads.stressng import stressng_metrics

# The read rate's YAML key: stress-ng 0.15 writes it as below; 0.16 and later write the metric's
# description ("MB per sec memory read rate") lower-cased with spaces as dashes.
READ_RATE_KEYS = ("memory-read-rate-mb-per-sec", "mb-per-sec-memory-read-rate")
TRANSFERRED = re.compile(r"MiB transferred \(\s*(\S+) MiB/sec\)")
WORD_BYTES = 8  # sysbench's random mode loads one size_t per access


@dataclass(frozen=True)
class StreamParams:
    workers: int = setting(1, low=1, high=1024, hint="workers = 1")
    l3_size: str = size_setting("16M", 'l3_size = "16M" (the buffer is 4x this, past the cache)')


class StressNgStream(ToolWorkload):
    """`stress-ng --stream`: STREAM-style copy/scale/add/triad; total read MiB/s."""

    name: ClassVar[str] = "stress-ng-stream"
    primary_metric: ClassVar[str] = "memory read bandwidth"
    family: ClassVar[str] = "memory"
    tool: ClassVar[str] = "stress-ng"
    Params: ClassVar[type[StreamParams]] = StreamParams
    params: StreamParams
    # Shorter runs end with "run duration too short to determine memory rate" and no figure.
    min_duration: ClassVar[float] = 5.0

    def argv(self, platform: Platform, variant: str, run: RunSpec) -> list[str]:
        return [
            "stress-ng",
            "--stream",
            str(self.params.workers),
            "--stream-l3-size",
            self.params.l3_size,
            "--timeout",
            f"{whole_seconds(run.duration)}s",
            "--metrics",
            "--yaml",
            "/dev/stdout",
        ]

    def parse(self, output: str) -> list[Sample]:
        """The total read bandwidth of all workers, in MiB/s.

        stress-ng (0.15 and 0.16 alike, under either key spelling) divides bytes by 2^20 (its
        "MB") and reports the mean rate of its instances, so the total is that rate times the
        workers (with 2 workers the rate stays at the 1-worker figure while bogo-ops/s
        quadruple on half-size arrays). Its write rate
        is a fixed 2/3 of the read rate (the copy/scale/add/triad byte counts), not a
        measurement: it is not kept.
        """
        m = stressng_metrics(output, "stream")
        key = next((k for k in READ_RATE_KEYS if k in m), None)
        if key is None:
            raise ParseError(
                "stress-ng",
                "no memory rate in its metrics (stress-ng reports none "
                "when a run is too short: give this case a longer duration)",
                output,
            )
        rate = number("stress-ng", output, m[key], "memory read rate")
        meta: dict[str, MetaValue] = {
            "workers": self.params.workers,
            "l3_size": self.params.l3_size,
            "measured": "stress-ng mean rate per worker x workers",
        }
        return [
            Sample(
                "memory read bandwidth", rate * self.params.workers, "MiB/s", True, metadata=meta
            )
        ]


@dataclass(frozen=True)
class RandomAccessParams:
    buffer: str = size_setting("64M", 'buffer = "64M" (far larger than the last-level cache)')


class SysbenchRandomAccess(ToolWorkload):
    """`sysbench memory` in random read mode over one large buffer: nanoseconds per 8-byte load.

    The loads are independent (not a pointer chase), so this is the random-access cost the
    memory system and its TLBs deliver, including sysbench's random-number generation; it moves
    with page size, NUMA placement and EPT/NPT overhead, which is what separates the platforms.
    """

    name: ClassVar[str] = "sysbench-memory-random"
    primary_metric: ClassVar[str] = "memory random access time"
    family: ClassVar[str] = "memory"
    tool: ClassVar[str] = "sysbench"
    Params: ClassVar[type[RandomAccessParams]] = RandomAccessParams
    params: RandomAccessParams

    def argv(self, platform: Platform, variant: str, run: RunSpec) -> list[str]:
        return [
            "sysbench",
            "memory",
            "--threads=1",
            f"--time={whole_seconds(run.duration)}",
            f"--memory-block-size={self.params.buffer}",
            "--memory-total-size=100T",
            "--memory-oper=read",
            "--memory-access-mode=rnd",
            "run",
        ]

    def parse(self, output: str) -> list[Sample]:
        m = TRANSFERRED.search(output)
        if m is None:
            raise ParseError("sysbench", "no 'MiB transferred (... MiB/sec)' line", output)
        mib_per_s = number("sysbench", output, m.group(1), "MiB/sec")
        if mib_per_s <= 0:
            raise ParseError("sysbench", "zero MiB/sec: the run did no access", output)
        ns = WORD_BYTES * 1e9 / (mib_per_s * 1024 * 1024)
        return [
            Sample(
                "memory random access time",
                ns,
                "ns",
                False,
                metadata={"buffer": self.params.buffer, "access": "8-byte independent"},
            )
        ]
