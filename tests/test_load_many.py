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


DATA = Path(__file__).parent / "data"


def _facts(run: Path) -> list[tuple[object, ...]]:
    """Each sample of a saved run with its case's and its round's facts, read here without the
    loader: version 3 rounds as stored; older records' flat samples by the round each names, in
    the order of each round's first sample."""
    out: list[tuple[object, ...]] = []
    for bench in json.loads(run.read_text())["benchmarks"]:
        info = bench["extra_info"]
        if "triptych_api" not in info:
            continue
        if info["triptych_api"] >= 3:
            rounds = [
                (r["number"], r.get("setup", 0), r.get("host_cpu"), r["samples"])
                for r in info["measured"]
            ]
        else:
            grouped: dict[int, list[dict[str, object]]] = {}
            for s in info["samples"]:
                grouped.setdefault(s["metadata"].get("round", 0), []).append(s)
            rounds = [(n, 0, None, ss) for n, ss in grouped.items()]
        for number, setup, cpu, samples in rounds:
            client = float("nan") if cpu is None else cpu["client"]
            out += [
                (
                    info["case"],
                    info["platform"],
                    number,
                    setup,
                    repr(client),
                    s["metric"],
                    s["value"],
                )
                for s in samples
            ]
    return out


@pytest.mark.parametrize(
    "run", ["run-quick-all-platforms.json", "history/0001_unchanged1.json", "run-host-cpu.json"]
)
def test_each_row_holds_its_case_and_round(run: str, tmp_path: Path) -> None:
    """A digest holds each fact once at its level (the case's platform, the round's number and
    host CPU); the frame repeats them, each onto its own samples."""
    copy = tmp_path / Path(run).name
    copy.write_bytes((DATA / run).read_bytes())
    frame = load.load_runs([copy]).samples
    rows = zip(
        frame.case, frame.platform, frame["round"], frame.setup, frame.cpu_client.map(repr),
        frame.metric, frame.value, strict=True,
    )  # fmt: skip
    assert list(rows) == _facts(copy)
