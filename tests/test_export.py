"""`triptych report --json`: every verdict as data, from the same objects as the HTML, read
back from a real saved run (tests/data/run-quick-all-platforms.json)."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from triptych.cli import main

DATA = Path(__file__).parent / "data"
KEYS = {
    "family", "case", "metric", "unit", "direction", "headline", "column", "setups", "rounds",
    "looks", "median", "cost", "low", "high", "verdict", "said", "detectable", "borrowed",
}  # fmt: skip


def test_the_json_holds_every_cell_the_html_shows(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "0001_quick.json"
    run.parent.mkdir()
    shutil.copy(DATA / "run-quick-all-platforms.json", run)
    out, data = tmp_path / "r.html", tmp_path / "v.json"
    assert main(["report", str(run), "-o", str(out), "--json", str(data)]) == 0
    doc = json.loads(data.read_text())
    page = html.unescape(out.read_text())
    assert doc["schema"] == "triptych-verdicts/1"
    (group,) = doc["groups"]
    assert group["latest"] == "0001_quick"
    cells = group["cells"]
    assert all(set(c) == KEYS for c in cells)
    compared = [c for c in cells if c["verdict"] is not None]
    assert {c["column"]["platform"] for c in compared} == {"docker-bridge", "docker-host", "vm"}
    assert not [c for c in cells if c["column"]["platform"] == "host" and c["verdict"]]
    for c in compared:
        if c["verdict"] != "untestable":
            assert c["low"] <= c["cost"] <= c["high"], c
        assert c["said"] in page, c["said"]  # the sentence the report prints, word for word
        assert c["direction"] in ("higher is better", "lower is better")
    published = {
        c["column"]["variant"] for c in cells if c["column"]["platform"] == "docker-bridge"
    }
    assert {"bridge-ip", "published"} <= published
    # One set-up per platform in this run: every interval borrowed, and the notice says so.
    assert {c["setups"] for c in cells} == {1}
    # A lone run has no history of its own: each compared cell borrows its family's default.
    assert {c["borrowed"] for c in compared} == {"default"}
    assert {c["borrowed"] for c in cells if c["verdict"] is None} == {""}
    assert {c["looks"] for c in cells} == {1}  # saved before sequential set-ups: a fixed design
    assert any("One set-up per platform" in n["text"] for n in group["notices"])
    families = {s["family"] for s in group["summary"]}
    assert {"cpu", "memory", "disk", "network"} <= families
