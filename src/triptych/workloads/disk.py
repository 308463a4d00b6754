"""Disk workload: fio with direct I/O on a file in a directory the platform provides."""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any, ClassVar

from triptych.errors import ParseError, TriptychError
from triptych.platforms.base import Platform
from triptych.sample import MetaValue, Sample
from triptych.validate import setting, size_bytes, size_setting
from triptych.workloads.base import RunSpec, ToolWorkload, number, whole_seconds

FILE_NAME = "triptych-fio.dat"
RESERVE = 2**30  # bytes left free beside the fio file


@dataclass(frozen=True)
class FioParams:
    rw: str = setting(
        "randread", choices=("read", "write", "randread", "randwrite"), hint='rw = "randread"'
    )
    bs: str = size_setting("4k", 'bs = "4k"')
    iodepth: int = setting(16, low=1, high=1024, hint="iodepth = 16")
    size: str = size_setting("256M", 'size = "256M"')
    ioengine: str = setting(
        "libaio", choices=("libaio", "psync", "io_uring"), hint='ioengine = "libaio"'
    )
    direct: bool = setting(True, hint="direct = true")


class Fio(ToolWorkload):
    """One fio job, time based; bandwidth, IOPS and completion-latency percentiles."""

    name: ClassVar[str] = "fio"
    primary_metric: ClassVar[str] = ""  # IOPS for random I/O, bandwidth for sequential
    family: ClassVar[str] = "disk"
    target: ClassVar[str] = "disk"
    tool: ClassVar[str] = "fio"
    Params: ClassVar[type[FioParams]] = FioParams
    params: FioParams

    def _file(self, platform: Platform, variant: str) -> str:
        return posixpath.join(platform.scratch(variant).path, FILE_NAME)

    def prepare(self, platform: Platform, variant: str) -> None:
        self._check_room(platform, variant)
        # Lay the file out with real data once, so reads hit written blocks, not holes.
        argv = [
            "fio",
            "--name=layout",
            f"--filename={self._file(platform, variant)}",
            f"--size={self.params.size}",
            "--rw=write",
            "--bs=1M",
            f"--direct={int(self.params.direct)}",
            "--output-format=json",
        ]
        platform.execute(argv, self.spec.timeout).check(platform.name)

    def _check_room(self, platform: Platform, variant: str) -> None:
        """Refuse a file that would not fit beside a reserve: a scenario must never fill the
        platform's (or the host's) filesystem."""
        directory = platform.scratch(variant).path
        df = platform.execute(["df", "-P", "-B1", directory], 60).check(platform.name)
        try:
            free = int(df.stdout.splitlines()[-1].split()[3])
        except (IndexError, ValueError):
            raise ParseError("df", "no available-bytes column", df.stdout) from None
        wanted = size_bytes(self.params.size)
        if wanted > free - RESERVE:
            raise TriptychError(
                f"fio params.size = {self.params.size!r} does not fit in {directory} on "
                f"{platform.name} ({free / 2**30:.1f} GiB free, {RESERVE / 2**30:g} GiB kept "
                "free); set a smaller params.size in the scenario"
            )

    def primary(self) -> str:
        what = "IOPS" if self.params.rw.startswith("rand") else "bandwidth"
        return f"{self.params.rw} {what}"

    def argv(self, platform: Platform, variant: str, run: RunSpec) -> list[str]:
        p = self.params
        return [
            "fio",
            f"--name={p.rw}",
            f"--filename={self._file(platform, variant)}",
            f"--size={p.size}",
            f"--rw={p.rw}",
            f"--bs={p.bs}",
            f"--iodepth={p.iodepth}",
            f"--ioengine={p.ioengine}",
            f"--direct={int(p.direct)}",
            f"--runtime={whole_seconds(run.duration)}",
            "--time_based",
            "--randrepeat=0",
            "--output-format=json",
        ]

    def parse(self, output: str) -> list[Sample]:
        return parse_fio(output, self.params)

    def cleanup(self, platform: Platform, variant: str) -> None:
        platform.execute(["rm", "-f", self._file(platform, variant)], 60).check(platform.name)


def _job_figures(output: str, p: FioParams) -> dict[str, Any]:
    """The figures of fio's first job in the direction `p.rw` measures."""
    # fio may print notes before the JSON document (e.g. about the file layout).
    start = output.find("{")
    try:
        doc: Any = json.loads(output[start:]) if start >= 0 else None
    except json.JSONDecodeError as e:
        raise ParseError("fio", f"JSON does not parse ({e.msg} at char {e.pos})", output) from None
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(jobs, list) or not jobs:
        raise ParseError("fio", "no 'jobs' in its JSON", output)
    job = jobs[0]
    if job.get("error"):
        raise ParseError("fio", f"job reported error {job['error']}", output)
    direction = "write" if "write" in p.rw else "read"
    d = job.get(direction)
    if not isinstance(d, dict) or not d.get("total_ios"):
        raise ParseError("fio", f"no completed {direction} I/O in job {job.get('jobname')}", output)
    return d


def parse_fio(output: str, p: FioParams) -> list[Sample]:
    """Samples from fio's JSON: MB/s and IOPS, completion latency p50 and p99 in microseconds."""
    d = _job_figures(output, p)
    meta: dict[str, MetaValue] = {
        "rw": p.rw,
        "bs": p.bs,
        "iodepth": p.iodepth,
        "ioengine": p.ioengine,
        "direct": p.direct,
        "size": p.size,
    }
    pct = d.get("clat_ns", {}).get("percentile", {})
    samples = [
        Sample(
            f"{p.rw} bandwidth",
            number("fio", output, d.get("bw_bytes"), "bw_bytes") / 1e6,
            "MB/s",
            True,
            metadata=meta,
        ),
        Sample(
            f"{p.rw} IOPS",
            number("fio", output, d.get("iops"), "iops"),
            "IOPS",
            True,
            metadata=meta,
        ),
    ]
    for key, label in (("50.000000", "p50"), ("99.000000", "p99")):
        if key in pct:
            samples.append(
                Sample(
                    f"{p.rw} completion latency {label}",
                    number("fio", output, pct[key], f"clat {label}") / 1e3,
                    "us",
                    False,
                    metadata=meta,
                )
            )
    return samples
