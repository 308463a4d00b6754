"""The benchmark suite: one test per scenario case, platform and variant (see triptych.plugin)."""

from __future__ import annotations

from pytest_benchmark.fixture import BenchmarkFixture

from triptych.journal import Journal
from triptych.platforms.base import Platform
from triptych.plugin.sequential import SetupBook
from triptych.runner import Trial, run_trial


def test_case(
    triptych_trial: Trial,
    triptych_platform: Platform,
    triptych_journal: Journal,
    triptych_setups: SetupBook,
    benchmark: BenchmarkFixture,
) -> None:
    samples = run_trial(triptych_trial, triptych_platform, benchmark, triptych_journal)
    triptych_setups.finished(triptych_trial, samples)
    assert samples, f"{triptych_trial.id} produced no samples"
