"""Host CPU per unit of work (results/host_cost.py) and its place in the report, from a real
saved run that recorded each round's host CPU (tests/data/run-host-cpu.json: the quick
scenario's cpu-sysbench, disk-rand-read, net-throughput and redis cases on all four platforms)."""

from __future__ import annotations

import copy
import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from tests.test_report_html import rendered_table
from triptych.report.analysis import analyse
from triptych.report.render import render
from triptych.report.terminal import summary_lines
from triptych.results import host_cost
from triptych.results.load import load_runs

RUN = Path(__file__).parent / "data" / "run-host-cpu.json"
PARTS = ("client", "inside", "platform", "softirq")


def _records() -> list[dict[str, Any]]:
    doc = json.loads(RUN.read_text())
    return [b["extra_info"] for b in doc["benchmarks"] if "triptych_api" in b["extra_info"]]


def _by_hand(case: str) -> dict[tuple[str, str], float]:
    """(platform, variant) -> median over rounds of every part's CPU over wall over the rate,
    read straight from the JSON."""
    out = {}
    for r in _records():
        if r["case"] != case:
            continue
        figures = []
        for rnd in r["measured"]:
            cpu = rnd["host_cpu"]
            rate = next(s["value"] for s in rnd["samples"] if s["metric"] == r["primary_metric"])
            figures.append(sum(cpu[p] for p in PARTS) / cpu["wall"] / rate)
        out[(r["platform"], r["variant"])] = statistics.median(figures)
    return out


@pytest.mark.parametrize("case", ["net-throughput", "redis", "cpu-sysbench", "disk-rand-read"])
def test_per_unit_figures_are_the_rounds_cpu_over_their_rate(case: str) -> None:
    runs = load_runs([RUN])
    (group,) = analyse(runs.samples, runs.machines)
    (row,) = [r for r in group.host_cpu if r.case == case]
    expected = sorted(_by_hand(case).values())
    got = sorted(c.per_unit for c in row.cells.values())
    assert got == pytest.approx(expected, rel=1e-6)
    assert "host" in row.cells
    assert len(row.cells) == len(expected) >= 4  # host, both containers, the guest (and paths)


def test_every_part_is_recorded_and_a_guest_or_container_costs_the_platform() -> None:
    runs = load_runs([RUN])
    (group,) = analyse(runs.samples, runs.machines)
    (row,) = [r for r in group.host_cpu if r.case == "net-throughput"]
    assert row.cells["host"].platform == 0.0  # the host has nothing carrying it
    carried = [c for label, c in row.cells.items() if label != "host"]
    assert all(c.platform > 0.0 for c in carried), row.cells
    assert all(c.own > 0.0 for c in row.cells.values())


def _scaled(tmp_path: Path, platform: str, factor: float) -> Path:
    """A copy of the run where one platform's every round spent `factor` times the host CPU."""
    doc = json.loads(RUN.read_text())
    for b in doc["benchmarks"]:
        info = b["extra_info"]
        if info.get("platform") != platform:
            continue
        for rnd in info["measured"]:
            rnd["host_cpu"] = {
                k: v * factor if k in PARTS else v for k, v in rnd["host_cpu"].items()
            }
    out = tmp_path / "0002_scaled.json"
    out.write_text(json.dumps(copy.deepcopy(doc)))
    return out


def test_the_verdict_on_host_cpu_moves_with_the_cpu_spent(tmp_path: Path) -> None:
    def costs(path: Path) -> dict[tuple[str, str], float]:
        runs = load_runs([path])
        (group,) = analyse(runs.samples, runs.machines)
        return {
            (r.case, label): c.effect.cost
            for r in group.rows
            if r.metric == host_cost.METRIC
            for label, c in r.cells.items()
            if c.effect is not None
        }

    before = costs(RUN)
    after = costs(_scaled(tmp_path, "docker-bridge", 2.0))
    bridge = [k for k in before if k[1].startswith("docker-bridge")]
    assert bridge
    for key in bridge:  # per unit is linear in the CPU: its cost against the host doubles
        assert after[key] == pytest.approx(2 * before[key], rel=1e-6), key
    for key in set(before) - set(bridge):
        assert after[key] == pytest.approx(before[key], rel=1e-9), key


def test_runs_without_host_cpu_have_no_such_figures() -> None:
    old = Path(__file__).parent / "data" / "run-quick-all-platforms.json"
    runs = load_runs([old])
    (group,) = analyse(runs.samples, runs.machines)
    assert group.host_cpu == []
    assert not any(r.metric == host_cost.METRIC for r in group.rows)


def test_the_report_shows_the_host_cpu_table(tmp_path: Path) -> None:
    table = rendered_table(RUN, tmp_path, "host-cpu")
    cases = re.findall(r'<tr><td class="l">([\w-]+)<br>', table)
    assert sorted(cases) == ["cpu-sysbench", "disk-rand-read", "net-throughput", "redis"]
    assert table.count("CPU-s/Gbit") >= 4
    assert re.search(r"cores: own [\d.]+, platform [\d.]+, softirq [\d.]+", table)


def test_the_terminal_says_each_columns_host_cpu_per_unit_as_the_report_does(
    tmp_path: Path,
) -> None:
    run = tmp_path / "0001_h.json"
    run.write_text(RUN.read_text())
    lines = summary_lines(run)
    head = "host CPU per unit of work, each platform's against the host's (lower is better):"
    said = lines[lines.index(head) + 1 :]
    page = render(load_runs([run]))
    for case in ("net-throughput", "redis"):
        by_hand = _by_hand(case)
        mine = [x for x in said if x.startswith(f"{case} ")]
        # The host's figure, then one line per other column: each its median, by hand.
        assert len(mine) == len(by_hand), mine
        host = mine[0].split()
        assert host[1] == "host"
        assert float(host[2]) == pytest.approx(by_hand[("host", "loopback")], rel=1e-3)
        for line in mine[1:]:
            figure, verdict = line.split(": ", 1)
            assert figure.endswith(" CPU-s/Gbit" if case == "net-throughput" else " CPU-s/requests")
            value = float(figure.split()[-2])
            assert any(v == pytest.approx(value, rel=1e-3) for v in by_hand.values()), line
            assert str(escape(verdict)) in page, verdict  # the report's own words
    # The published port costs the host more per Gbit than the host's own loopback does.
    published = next(x for x in said if x.startswith("net-throughput") and "(published)" in x)
    assert "x slower (" in published
