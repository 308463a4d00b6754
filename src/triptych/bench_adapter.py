"""Every use of pytest-benchmark's internals, in one place.

pytest-benchmark has no public API for a round count decided while rounds run, for stats that
are not the rounds' wall times, nor for guarding its final save. We use five private names: the
fixture's `_mode`, `_make_stats` and the `stats.stats` it makes, the config's
`_benchmarksession` and its storage's `save`. `missing_internals()` lists those an installed
version lacks; tests/test_bench_adapter.py fails loudly when an upgrade removes one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest


class Benchmark(Protocol):
    """The parts of pytest-benchmark's `benchmark` fixture we use."""

    extra_info: dict[str, Any]
    group: str | None
    has_error: bool

    def pedantic(
        self, target: Callable[[], None], *, rounds: int, iterations: int, warmup_rounds: int
    ) -> None: ...


SaveFunction = Callable[[Any, str], None]


def missing_internals() -> list[str]:
    """The private names this module relies on that the installed pytest-benchmark lacks."""
    from pytest_benchmark.fixture import BenchmarkFixture  # noqa: PLC0415
    from pytest_benchmark.stats import Metadata  # noqa: PLC0415
    from pytest_benchmark.storage.file import FileStorage  # noqa: PLC0415

    missing = [
        f"BenchmarkFixture.{n}" for n in ("_make_stats",) if not hasattr(BenchmarkFixture, n)
    ]
    if "_mode" not in BenchmarkFixture.__init__.__code__.co_names:
        missing.append("BenchmarkFixture._mode")
    if not hasattr(FileStorage, "save"):
        missing.append("FileStorage.save")
    if "stats" not in Metadata.__init__.__code__.co_names:
        missing.append("Metadata.stats")
    return missing


def restate(benchmark: Benchmark, values: list[float]) -> list[float]:
    """Put `values` (one per round) in the benchmark's stats in place of the rounds' wall times,
    so its table, OPS, compare and histograms speak of them; return the wall times replaced."""
    meta: Any = getattr(benchmark, "stats", None)
    if meta is None or not hasattr(meta, "stats") or not values:
        return []
    walls = [float(x) for x in meta.stats.data]
    fresh = type(meta.stats)()  # its statistics are cached on first use: start anew
    for v in values:
        fresh.update(v)
    meta.stats = fresh
    return walls


def timed_rounds(
    benchmark: Benchmark, one_round: Callable[[], None], more: Callable[[int], bool]
) -> int:
    """Run rounds while `more(done)` says so, each timed into the benchmark's stats as
    pedantic() would; return how many ran. pedantic() needs its count up front."""
    fixture: Any = benchmark
    fixture._mode = "benchmark.pedantic(...)"
    stats = fixture._make_stats(1)
    done = 0
    while True:
        started = time.perf_counter()
        one_round()
        stats.update(time.perf_counter() - started)
        done += 1
        if not more(done):
            return done


def storage(config: pytest.Config) -> tuple[SaveFunction, Path, Any] | None:
    """pytest-benchmark's save function, the folder it writes to, and the storage object."""
    session = getattr(config, "_benchmarksession", None)
    store = getattr(session, "storage", None)
    save = getattr(store, "save", None)
    folder = getattr(store, "path", None)
    if save is None or not isinstance(folder, Path):
        return None
    return save, folder, store


def replace_save(store: Any, save: SaveFunction) -> None:  # noqa: ANN401
    """Make pytest-benchmark's storage call `save` instead of its own."""
    store.save = save


def save_nothing(config: pytest.Config) -> None:
    """Tell pytest-benchmark that this session saves nothing: a run refused before any case
    then ends in its one line, not in pytest-benchmark's "Not saving anything" warning (an
    error under `filterwarnings = error`)."""
    session = getattr(config, "_benchmarksession", None)
    for name in ("save", "autosave", "json"):
        if session is not None and hasattr(session, name):
            setattr(session, name, None)


def nothing_measured(config: pytest.Config) -> bool:
    """Whether no case of the session has figures to save (every one skipped or failed)."""
    session = getattr(config, "_benchmarksession", None)
    return session is not None and not getattr(session, "benchmarks", None)


def failed(benchmark: Benchmark) -> None:
    """A case that failed, possibly before its rounds: marked so pytest-benchmark neither saves
    it nor adds "Benchmark fixture was not used at all" (an error under `filterwarnings =
    error`), which reported one failing case twice, as FAILED and as an ERROR."""
    benchmark.has_error = True
    fixture: Any = benchmark
    if not getattr(fixture, "_mode", None):
        fixture._mode = "failed before its rounds"
