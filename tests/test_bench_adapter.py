"""pytest-benchmark's internals we rely on are still there (an upgrade that removes one must
fail here, by name, not as a strange error in the middle of a run)."""

from __future__ import annotations

from importlib.metadata import version

from triptych.bench_adapter import missing_internals


def test_pytest_benchmark_still_has_what_the_adapter_uses() -> None:
    missing = missing_internals()
    assert missing == [], (
        f"pytest-benchmark {version('pytest-benchmark')} lacks {', '.join(missing)}: "
        "adapt src/triptych/bench_adapter.py (adaptive rounds and the guarded save use them)"
    )
