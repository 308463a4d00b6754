"""Many saved runs at once: cached digests are read in this process, the rest made in a process
pool; whatever mix of the two, the frame is the one a plain serial reading gives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from tests.synthetic import noisy, write_run
from triptych.results import digest, digest_cache, load

RUNS = 20  # above digest.PARALLEL_FROM: the pool takes part


def _runs(where: Path) -> list[Path]:
    return [
        write_run(where / f"{i:04d}_n.json", ["host", "docker-bridge"], 3, noisy({}, seed=i))
        for i in range(RUNS)
    ]


def test_cached_fresh_and_pooled_digests_make_one_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert digest.PARALLEL_FROM < RUNS
    runs = _runs(tmp_path)
    cold = load.load_runs([tmp_path]).samples  # every digest made in the pool, then cached
    cache = tmp_path / digest_cache.CACHE_DIR
    assert len(list(cache.iterdir())) == RUNS
    # One run rewritten (a new size and time: its cache no longer applies), one cache removed.
    write_run(runs[3], ["host", "docker-bridge"], 3, noisy({"docker-bridge": 2.0}, seed=99))
    os.utime(runs[3], ns=(1, 1))
    next(p for p in cache.iterdir() if p.name.startswith(runs[7].name)).unlink()
    mixed = load.load_runs([tmp_path]).samples
    monkeypatch.setattr(digest, "PARALLEL_FROM", 10**9)
    for p in cache.iterdir():
        p.unlink()
    serial = load.load_runs([tmp_path]).samples
    pd.testing.assert_frame_equal(mixed, serial)
    # The rewritten run's figures are its new ones; the others are as they were.
    changed = mixed.run == runs[3].stem
    assert not mixed[changed].value.equals(cold[cold.run == runs[3].stem].value)
    pd.testing.assert_frame_equal(
        mixed[~changed].reset_index(drop=True),
        cold[cold.run != runs[3].stem].reset_index(drop=True),
    )
    # And every run's rows are what its file holds, read here without the loader.
    for run in runs:
        rows = mixed[mixed.run == run.stem]
        assert list(zip(rows.platform, rows.metric, rows.value, strict=True)) == _held(run)


def _held(run: Path) -> list[tuple[str, str, float]]:
    out = []
    for bench in json.loads(run.read_text())["benchmarks"]:
        info = bench["extra_info"]
        for rnd in info["measured"]:
            out += [(info["platform"], s["metric"], s["value"]) for s in rnd["samples"]]
    return out
