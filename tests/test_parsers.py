"""Parsers against real output captured from the tools (tests/data), and against broken output."""

from __future__ import annotations

from pathlib import Path

import pytest

from triptych.errors import ParseError
from triptych.workloads.base import RunSpec
from triptych.workloads.cpu import StressNgCpu, StressNgCpuParams, SysbenchCpu, SysbenchCpuParams
from triptych.workloads.disk import Fio, FioParams
from triptych.workloads.memory import (
    RandomAccessParams,
    StreamParams,
    StressNgStream,
    SysbenchRandomAccess,
)
from triptych.workloads.network import Iperf3Params, Iperf3Tcp, SockperfParams, SockperfPingPong

SPEC = RunSpec(duration=2, timeout=60)


def by_metric(samples: list) -> dict:  # type: ignore[type-arg]
    return {s.metric: s for s in samples}


def test_sysbench_cpu(data: Path) -> None:
    (s,) = SysbenchCpu(SysbenchCpuParams(), SPEC).parse((data / "sysbench-cpu.txt").read_text())
    assert s.value == pytest.approx(4411.51)
    assert (s.unit, s.higher_is_better) == ("events/s", True)


def test_stress_ng_cpu_yaml(data: Path) -> None:
    w = StressNgCpu(StressNgCpuParams(), SPEC)
    (s,) = w.parse((data / "stress-cpu.yaml").read_text())
    assert s.value == pytest.approx(1150.591586)
    assert s.unit == "bogo-ops/s"
    assert s.metadata["method"] == "matrixprod"


def test_stream(data: Path) -> None:
    m = by_metric(
        StressNgStream(StreamParams(), SPEC).parse((data / "stress-stream.yaml").read_text())
    )
    # The capture's memory-read-rate-mb-per-sec, which stress-ng computes in units of 2^20.
    assert m["memory read bandwidth"].value == pytest.approx(16886.885839)
    assert m["memory read bandwidth"].unit == "MiB/s"
    # Its write rate (11257.92 = exactly 2/3 of the read rate) is derived, not measured.
    assert "memory write bandwidth" not in m


def test_stream_with_two_workers_is_the_total(data: Path) -> None:
    # stress-ng reports the mean rate of its instances: two workers move twice the bytes.
    two = StressNgStream(StreamParams(workers=2), SPEC)
    (s,) = two.parse((data / "stress-stream.yaml").read_text())
    assert s.value == pytest.approx(2 * 16886.885839)


def test_stream_under_stress_ng_016_key_spelling(data: Path) -> None:
    """stress-ng 0.16 and later name the YAML key after the metric's description, "MB per sec
    memory read rate", lower-cased with spaces as dashes (stress_description_yamlify in
    stress-ng.c). Debian 12 ships 0.15 only, so this output is the real 0.15 capture with its
    metric lines rewritten the way 0.16's source writes them, not a capture of 0.16 itself."""
    text = (data / "stress-stream.yaml").read_text()
    newer = text.replace("memory-read-rate-mb-per-sec", "mb-per-sec-memory-read-rate").replace(
        "memory-write-rate-mb-per-sec", "mb-per-sec-memory-write-rate"
    )
    assert "memory-read-rate-mb-per-sec" not in newer
    (s,) = StressNgStream(StreamParams(), SPEC).parse(newer)
    assert (s.metric, s.value, s.unit) == ("memory read bandwidth", 16886.885839, "MiB/s")


def test_stream_too_short_says_so(data: Path) -> None:
    text = (data / "stress-stream.yaml").read_text()
    cut = "\n".join(line for line in text.splitlines() if "memory-" not in line)
    with pytest.raises(ParseError, match="longer duration"):
        StressNgStream(StreamParams(), SPEC).parse(cut)


def test_sysbench_random_access(data: Path) -> None:
    (s,) = SysbenchRandomAccess(RandomAccessParams(), SPEC).parse(
        (data / "sysbench-mem-rnd.txt").read_text()
    )
    # The capture says "376.57 MiB/sec" of 8-byte loads: 49.36 M loads/s, 20.26 ns each.
    assert s.value == pytest.approx(20.2602, abs=1e-4)
    assert s.unit == "ns"
    assert not s.higher_is_better


# Read off each capture by hand: bw_bytes (as MB/s), iops, clat_ns percentiles 99 and 50 (as us).
@pytest.mark.parametrize(
    ("name", "rw", "mb_s", "iops", "p99_us", "p50_us"),
    [
        ("fio-seqread.json", "read", 2990.693786, 2852.147852, 3457.024, 2703.360),
        ("fio-write.json", "write", 3472.917216, 3312.031952, 3457.024, 2244.608),
        ("fio-randread.json", "randread", 257.081827, 62764.117941, 185.344, 112.128),
        ("fio-randwrite.json", "randwrite", 203.058022, 49574.712644, 321.536, 142.336),
    ],
)
def test_fio(
    data: Path, name: str, rw: str, mb_s: float, iops: float, p99_us: float, p50_us: float
) -> None:
    m = by_metric(Fio(FioParams(rw=rw), SPEC).parse((data / name).read_text()))
    assert m[f"{rw} bandwidth"].value == pytest.approx(mb_s)
    assert m[f"{rw} IOPS"].value == pytest.approx(iops)
    assert m[f"{rw} completion latency p99"].value == pytest.approx(p99_us)
    assert m[f"{rw} completion latency p50"].value == pytest.approx(p50_us)
    assert not m[f"{rw} completion latency p50"].higher_is_better
    assert m[f"{rw} IOPS"].higher_is_better


def test_fio_with_leading_notes(data: Path) -> None:
    raw = "note: both iodepth >= 1 and synchronous I/O engine are selected\n"
    raw += (data / "fio-randread.json").read_text()
    assert Fio(FioParams(), SPEC).parse(raw)


def test_iperf3(data: Path) -> None:
    m = by_metric(Iperf3Tcp(Iperf3Params(), SPEC).parse((data / "iperf3-tcp.json").read_text()))
    assert m["tcp throughput"].value == pytest.approx(24.302935107660732)
    assert m["tcp retransmits"].value == 11
    assert m["tcp throughput"].unit == "Gbit/s"


def test_iperf3_error_document() -> None:
    with pytest.raises(ParseError, match="unable to connect"):
        Iperf3Tcp(Iperf3Params(), SPEC).parse(
            '{"start": {}, "intervals": [], "end": {}, "error": "unable to connect to server"}'
        )


def test_sockperf(data: Path) -> None:
    m = by_metric(
        SockperfPingPong(SockperfParams(), SPEC).parse((data / "sockperf-pingpong.txt").read_text())
    )
    assert m["round-trip time mean"].value == pytest.approx(60.654)
    assert m["round-trip time p50"].value == pytest.approx(57.665)
    assert m["round-trip time p99"].value == pytest.approx(95.0)
    assert m["round-trip time p99.9"].value == pytest.approx(378.579)
    assert all(not s.higher_is_better for s in m.values())


@pytest.mark.parametrize(
    ("workload", "garbage"),
    [
        (SysbenchCpu(SysbenchCpuParams(), SPEC), "sysbench: command not found"),
        (StressNgCpu(StressNgCpuParams(), SPEC), "metrics: [unclosed"),
        (StressNgCpu(StressNgCpuParams(), SPEC), "---\nsystem-info: {}\n"),
        (Fio(FioParams(), SPEC), '{"fio version": "fio-3.33", "jobs": [{"jobn'),
        (Iperf3Tcp(Iperf3Params(), SPEC), "iperf3: error - unable to connect"),
        (SockperfPingPong(SockperfParams(), SPEC), "sockperf: ERROR: connect refused"),
        (SysbenchRandomAccess(RandomAccessParams(), SPEC), "0.00 MiB transferred (0.00 MiB/sec)"),
    ],
)
def test_unreadable_output_names_the_tool_and_keeps_it(workload: object, garbage: str) -> None:
    with pytest.raises(ParseError) as err:
        workload.parse(garbage)  # type: ignore[attr-defined]
    assert err.value.tool == workload.tool  # type: ignore[attr-defined]
    assert err.value.raw == garbage
    assert "\n" not in str(err.value)
