"""The benchmark suite: one test per scenario case, platform and variant (see triptych.plugin)."""

from __future__ import annotations

from pytest_benchmark.fixture import BenchmarkFixture

from triptych.platforms.base import Platform
from triptych.runner import CaseRun, run_case


def test_case(
    triptych_case: CaseRun, triptych_platform: Platform, benchmark: BenchmarkFixture
) -> None:
    samples = run_case(triptych_case, triptych_platform, benchmark)
    assert samples, f"{triptych_case.id} produced no samples"
