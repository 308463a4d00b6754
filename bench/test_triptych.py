"""The benchmark suite: one test per scenario case, platform and variant (see triptych.plugin)."""

from __future__ import annotations

from pytest_benchmark.fixture import BenchmarkFixture

from triptych.journal import Journal
from triptych.platforms.base import Platform
from triptych.runner import CaseRun, run_case


def test_case(
    triptych_case: CaseRun,
    triptych_platform: Platform,
    triptych_journal: Journal,
    benchmark: BenchmarkFixture,
) -> None:
    samples = run_case(triptych_case, triptych_platform, benchmark, triptych_journal)
    assert samples, f"{triptych_case.id} produced no samples"
