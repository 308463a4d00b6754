"""Density and isolation in the report, from real saved runs of the quick scenario on this
machine: tests/data/run-density.json (the density cases of a full quick run on all four
platforms: five containers per container platform, two TCG guests) and
tests/data/run-isolation.json (its isolation case: sysbench beside a stress-ng CPU hog on one
host CPU, on the host, docker-bridge and the guest). Expected figures are read straight from
the JSON."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest

from tests.test_report_html import in_chromium, rendered_table
from triptych.cli import main
from triptych.report.analysis import analyse
from triptych.report.isolation import isolation_rows
from triptych.results.load import load_runs

DATA = Path(__file__).parent / "data"
DENSITY = DATA / "run-density.json"
ISOLATION = DATA / "run-isolation.json"


def _records(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text())
    return [b["extra_info"] for b in doc["benchmarks"] if "triptych_api" in b["extra_info"]]


def _by_hand(path: Path, metric: str) -> dict[str, float]:
    """platform -> median over rounds of one metric, from the JSON."""
    out = {}
    for r in _records(path):
        values = [
            s["value"] for rnd in r["measured"] for s in rnd["samples"] if s["metric"] == metric
        ]
        if values:
            out[r["platform"]] = statistics.median(values)
    return out


def test_density_rows_carry_the_saved_figures() -> None:
    runs = load_runs([DENSITY])
    (group,) = analyse(runs.samples, runs.machines)
    for metric in ("memory per instance (PSS)", "launch time p95 (parallel)"):
        expected = _by_hand(DENSITY, metric)
        assert set(expected) == {"docker-bridge", "docker-host", "vm"}
        got = {
            label.split(" ")[0]: c.median
            for r in group.rows
            if r.metric == metric
            for label, c in r.cells.items()
        }
        assert got == pytest.approx(expected, rel=1e-9), metric
    # A guest holds far more at rest than a container (QEMU and the guest's memory against a
    # shim and tini): the saved figures say so, and the rows read them unchanged.
    pss = _by_hand(DENSITY, "memory per instance (PSS)")
    assert pss["vm"] > 20 * max(pss["docker-bridge"], pss["docker-host"])


def test_the_report_draws_launch_time_against_start_order(tmp_path: Path) -> None:
    out = tmp_path / "index.html"
    assert main(["report", str(DENSITY), "-o", str(out)]) == 0
    dom = in_chromium(out, tmp_path, ["--dump-dom"])
    charts = re.findall(
        r'<svg class="chart sweep" role="img" aria-label="launch time \((\w+)\) against the '
        r'order it started"(.*?)</svg>',
        dom,
        re.S,
    )
    assert sorted(mode for mode, _ in charts) == ["parallel", "sequential"]
    for _, body in charts:
        assert body.count("<polyline") == 3  # docker-bridge, docker-host, the guest
        points = re.findall(r'points="([^"]*)"', body)
        # Five containers each on the container platforms, two guests.
        assert sorted(len(p.split()) for p in points) == [2, 5, 5]


def test_isolation_rows_are_the_rounds_slowdowns() -> None:
    runs = load_runs([ISOLATION])
    (group,) = analyse(runs.samples, runs.machines)
    (row,) = isolation_rows(group)
    assert row.case == "isolation-cpu"
    assert row.victim == "cpu events"
    expected = _by_hand(ISOLATION, "victim slowdown beside the neighbour")
    got = {label.split(" ")[0]: c.slowdown for label, c in row.cells.items()}
    assert got == pytest.approx(expected, rel=1e-9)
    # Two busy processes on one CPU: the bare host's victim gets about half of it.
    assert 1.6 < row.cells["host"].slowdown < 2.5
    assert row.cells["host"].effect is None  # the baseline has no verdict of its own
    others = [c for label, c in row.cells.items() if label != "host"]
    assert len(others) == 2
    assert all(c.effect is not None for c in others)
    alone = _by_hand(ISOLATION, "cpu events (alone)")
    assert row.cells["host"].alone == pytest.approx(alone["host"], rel=1e-9)


def test_the_report_shows_the_isolation_table(tmp_path: Path) -> None:
    table = rendered_table(ISOLATION, tmp_path, "isolation")
    assert re.findall(r'<tr><td class="l">([\w-]+)<br>', table) == ["isolation-cpu"]
    slowdowns = re.findall(r"<b>slowdown ([\d.]+)x</b>", table)
    assert len(slowdowns) == 3  # the host, docker-bridge, the guest
    # A verdict under each platform's slowdown, none under the host's.
    verdicts = re.findall(r'<span class="[\w-]+">([^<]+)</span>', table)
    assert len(verdicts) == 2, verdicts
    assert all(re.search(r"undetermined|the same within|slower|faster", v) for v in verdicts)
