"""What the terminal says after a real run: pytest-benchmark's stats are the primary metric per
unit of work (not the rounds' wall time), and a summary in the report's words follows; the
warm-up run is stored apart from the rounds (and not run where the tool warms itself up)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from markupsafe import escape

from tests.suite_run import saved_run
from triptych.per_unit import seconds_per_unit
from triptych.record import CaseRecord
from triptych.report.render import render
from triptych.results.load import load_runs

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCENARIO = """
[scenario]
name = "terminal"
platforms = ["host", "docker-host"]
rounds = 3
duration = 1

[[case]]
name = "cpu"
workload = "sysbench-cpu"

[[case]]
name = "latency"
workload = "sockperf-pingpong"
"""


def test_stats_are_the_primary_metric_and_a_summary_follows(
    tmp_path: Path, bench_image: str
) -> None:
    saved, out = saved_run(tmp_path, SCENARIO, "terminal")
    for b in json.loads(saved.read_text())["benchmarks"]:
        record = CaseRecord.from_extra_info(b["extra_info"])
        primary = [s for s in record.samples if s.metric == record.primary_metric]
        per_unit = [seconds_per_unit(s.value, s.unit, s.higher_is_better) or 0.0 for s in primary]
        # The stats pytest-benchmark saved (and tabled) are the figure, not the wall time ...
        assert b["stats"]["mean"] == pytest.approx(statistics.mean(per_unit))
        assert b["stats"]["rounds"] == 3
        # The tools' versions as each platform runs them; the container's creation.
        assert str(record.platform_metadata["tool_sysbench"]).startswith("sysbench ")
        if record.platform == "docker-host":
            created = json.loads(str(record.platform_metadata["create_config"]))
            assert created["NetworkMode"] == "host"
            assert created["CapDrop"] == ["ALL"]
        if record.case == "latency":
            # sockperf warms itself up before every measurement: no run of the suite's own.
            assert (record.warmup_seconds, record.warmup_samples) == (0.0, [])
        else:
            # One warm-up run (1 s by default), kept apart: never among the rounds' samples.
            assert record.warmup_seconds == 1.0
            assert record.warmup_samples
            first_round = min(s.timestamp for s in record.samples)
            assert all(s.timestamp < first_round for s in record.warmup_samples)
            assert not [s for s in record.warmup_samples if s in record.samples]
        assert [r.number for r in record.measured] == [0, 1, 2]
        # ... which stays in the record: each round ran about its 1 s duration.
        assert len(record.round_seconds) == 3
        assert all(0.9 < w < 30 for w in record.round_seconds)
        if record.case == "cpu":
            # OPS = 1 / mean seconds per event: the events/s themselves (harmonic mean).
            events = [s.value for s in primary]
            assert b["stats"]["ops"] == pytest.approx(statistics.harmonic_mean(events))
            assert "1 / events/s" in record.stats_measure
        else:
            assert record.stats_measure.startswith("round-trip time p50 in seconds")
    assert "triptych summary" in out
    tail = out[out.index("triptych summary") :]
    ours = [x for x in tail.splitlines() if x.startswith(("cpu ", "latency "))]
    lines = [x for x in ours if "CPU-s/" not in x]
    assert len(lines) == 2, tail
    # Then what a unit of work cost the host's CPUs: the host's own and the container's (a
    # latency is no rate: none).
    host_cpu = [x for x in ours if "CPU-s/" in x]
    assert [x.split()[:2] for x in host_cpu] == [["cpu", "host"], ["cpu", "docker-host"]], tail
    assert all("docker-host" in x for x in lines)
    words = ("x slower", "x faster", "the same within", "undetermined")
    assert all(any(w in x for w in words) for x in lines), lines
    # The same figures and words as the report of the saved run.
    page = render(load_runs([saved]))
    for line in lines:
        verdict = line.split("docker-host", 1)[1].strip()
        assert str(escape(verdict)) in page, verdict
