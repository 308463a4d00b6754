"""Verdicts that survive a rerun, on real reruns of an unchanged system, through the report's
own JSON (`triptych report --json`): each run's 95% intervals hold the other runs' mean cost,
and no cell is called slower in one run and faster in another. tests/data/reruns and
tests/data/reruns-quick (three quick runs each, taken for this, out of sample) and
tests/data/history (six, the data the issue measured 87% coverage and 5 flips on) have their
figures in their READMEs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from triptych.cli import main

DATA = Path(__file__).parent / "data"

Cell = tuple[str, str, str]


def verdicts(run: Path, where: Path) -> dict[Cell, dict[str, Any]]:
    """The cells of one run's report, by case, metric and column, where a cost was found."""
    alone = where / run.stem
    alone.mkdir()
    shutil.copy(run, alone / run.name)
    out = where / f"{run.stem}.json"
    assert (
        main(["report", str(alone), "-o", str(where / f"{run.stem}.html"), "--json", str(out)]) == 0
    )
    (group,) = json.loads(out.read_text())["groups"]
    return {
        (c["case"], c["metric"], c["column"]["label"]): c
        for c in group["cells"]
        if c["cost"] is not None
    }


def rerun_figures(runs: list[dict[Cell, dict[str, Any]]]) -> tuple[float, int, float]:
    """(share of intervals holding the other runs' mean cost, cells that flipped between
    slower and faster, share of cells that are findings in some runs only)."""
    cells = set.intersection(*(set(r) for r in runs))
    held: list[bool] = []
    flips = unstable = 0
    for key in cells:
        vs = [r[key] for r in runs]
        said = {v["verdict"] for v in vs}
        flips += {"slower", "faster"} <= said
        unstable += len({v["verdict"] in ("slower", "faster") for v in vs}) > 1
        for i, v in enumerate(vs):
            if v["low"] is None or v["high"] is None:
                continue
            others = [math.log(w["cost"]) for j, w in enumerate(vs) if j != i]
            mean = math.exp(sum(others) / len(others))
            held.append(v["low"] <= mean <= v["high"])
    return sum(held) / len(held), flips, unstable / len(cells)


@pytest.mark.parametrize(
    ("folder", "least_held", "most_unstable"),
    [
        ("reruns", 0.93, 0.10),
        ("history", 0.95, 0.10),
        # Today's quick scenario: 15 of 112 cells are findings in one run only, each a 1.6-4.1x
        # cost in all three runs (its README): a real cost near what one set-up can show, which
        # is power, not a verdict changing sides, and is not bounded here.
        ("reruns-quick", 0.93, None),
    ],
)
def test_verdicts_survive_a_rerun(
    tmp_path: Path, folder: str, least_held: float, most_unstable: float | None
) -> None:
    runs = [verdicts(run, tmp_path) for run in sorted((DATA / folder).glob("*.json"))]
    assert len(runs) >= 3
    held, flips, unstable = rerun_figures(runs)
    assert flips == 0
    assert held >= least_held, held
    if most_unstable is not None:
        assert unstable <= most_unstable, unstable
