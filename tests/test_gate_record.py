"""Regressions of record, on the six real unchanged quick runs of tests/data/history: a
regression the nightly gate finds stays open (and the gate failing) night after night, out of
its metric's baseline, until a person accepts it or it reverts; the record is untrusted input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.gate_sim import CASE, PLATFORM, copied_history, gate_last, night
from triptych.cli import main
from triptych.gate import memory, record
from triptych.gate.compare import Sides
from triptych.gate.history import newest_against_history
from triptych.results.load import load_runs


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return copied_history(tmp_path)


gate = gate_last


def opened(results: Path) -> list[record.Regression]:
    return [r for r in record.load(results / record.FILE).regressions if r.state == record.OPEN]


NEW_ENGINE = "24.0.9"


def test_a_regression_stays_open_and_out_of_the_baseline_until_it_reverts(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = gate(results, capsys)
    assert code == 0, out
    assert opened(results) == []
    # Night 7: sysbench in a container twice as slow, with a new sysbench.
    night("0001_unchanged1.json", results / "0007_bad1.json", "2026-11-30T02:00:00+00:00", 2.0,
          NEW_ENGINE)  # fmt: skip
    code, out = gate(results, capsys)
    assert code == 2, out  # one night: suspected, undecided
    assert "SUSPECTED (one night" in out
    assert "regression(s) suspected" in out
    first = opened(results)
    assert first
    assert {(r.case, r.platform) for r in first} == {(CASE, PLATFORM)}
    assert all(r.nights == ("0007_bad1",) and r.last_good == "0004_unchanged7" for r in first)
    assert all(r.cost > 1.5 for r in first)
    assert "### Open regressions of record" in out
    assert "open since 0007\\_bad1" in out
    assert "docker-bridge engine\\_version 20.10.24+dfsg1 -&gt; 24.0.9" in out
    assert "commit df07d735f255 -&gt; c0ffee000000" in out
    assert "regression(s) opened tonight" in out
    assert all(r.confirmed == "" for r in first)
    # Night 8: still slow. Confirmed: the gate fails; open with both nights, and tonight's
    # baseline leaves night 7 out.
    night("0002_unchanged2.json", results / "0008_bad2.json", "2026-12-01T02:00:00+00:00", 2.0,
          NEW_ENGINE)  # fmt: skip
    code, out = gate(results, capsys)
    assert code == 1, out
    assert {r.nights for r in opened(results)} == {("0007_bad1", "0008_bad2")}
    assert {r.confirmed for r in opened(results)} == {"0008_bad2"}
    assert "confirmed on 0008\\_bad2" in out
    assert "have nights left out of their baseline by a regression of record" in out
    # Night 9: back to normal. It reverts; the gate passes; nothing is open.
    night("0003_unchanged3.json", results / "0009_fixed.json", "2026-12-02T02:00:00+00:00", 1.0)
    code, out = gate(results, capsys)
    assert code == 0, out
    assert opened(results) == []
    done = record.load(results / record.FILE).regressions
    assert {r.state for r in done} == {record.REVERTED}
    assert {r.closed_run for r in done} == {"0009_fixed"}
    assert "reverted tonight (open since 0007\\_bad1)" in out


def test_the_baseline_of_an_open_regression_leaves_its_nights_out(results: Path) -> None:
    """The arithmetic behind the note: the open metric's baseline is the five nights before
    its regression; every other metric's is the newest five, the regressed night among them."""
    night("0001_unchanged1.json", results / "0007_bad1.json", "2026-11-30T02:00:00+00:00", 2.0)
    night("0002_unchanged2.json", results / "0008_bad2.json", "2026-12-01T02:00:00+00:00", 2.0)
    base, cur, _, _ = newest_against_history(load_runs([results]), 6)
    history = memory.History.of(base, cur)
    regs = [
        record.Regression(
            CASE, "cpu events", PLATFORM, history.env, history.scenario, "0007_bad1",
            "2026-11-30", "0004_unchanged7", 2.0, ("0007_bad1",),
        )
    ]  # fmt: skip
    sides, notes = memory.baseline_without(Sides.of(base, cur), regs, history, 5)
    held = sides.base[(CASE, "cpu events", PLATFORM)]
    assert set(held.runs) == {
        f"000{i}_unchanged{j}" for i, j in [(2, 2), (3, 3), (4, 7), (5, 5), (6, 6)]
    }
    other = sides.base[(CASE, "cpu events", "host")]
    assert "0007_bad1" in other.runs
    assert "0001_unchanged1" not in other.runs
    assert len(notes) == 1


def test_an_accepted_regression_is_the_new_normal(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i, (src, date) in enumerate(
        [("0001_unchanged1.json", "2026-11-30"), ("0002_unchanged2.json", "2026-12-01")]
    ):
        night(src, results / f"000{7 + i}_bad{i}.json", f"{date}T02:00:00+00:00", 2.0)
        assert gate(results, capsys)[0] == [2, 1][i]  # suspected, then confirmed
    regs = opened(results)
    assert regs
    code = main(["accept", str(results), "--list"])
    listing = capsys.readouterr().out
    assert code == 0
    assert f"{len(regs)} open regression(s)" in listing
    # No reason, no acceptance.
    r = regs[0]
    key = ["--case", r.case, "--metric", r.metric, "--platform", r.platform]
    assert main(["accept", str(results), *key]) == 2
    assert "give --reason" in capsys.readouterr().err
    for r in regs:
        key = ["--case", r.case, "--metric", r.metric, "--platform", r.platform]
        assert main(["accept", str(results), *key, "--reason", "new sysbench", "--by", "ops"]) == 0
    capsys.readouterr()
    kept = record.load(results / record.FILE).regressions
    assert {(x.state, x.accepted_by, x.reason) for x in kept} == {
        (record.ACCEPTED, "ops", "new sysbench")
    }
    # Night 9 at the new level passes: its baseline is the accepted nights, not the old ones.
    night("0003_unchanged3.json", results / "0009_bad3.json", "2026-12-02T02:00:00+00:00", 2.0)
    code, out = gate(results, capsys)
    assert code == 0, out
    assert "Open regressions of record" not in out
    assert opened(results) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(schema="triptych-regressions/0"), "schema"),
        (lambda d: d["regressions"][0].update(state="closed"), "regressions[0].state"),
        (lambda d: d["regressions"][0].update(cost="2x"), "regressions[0].cost"),
        (lambda d: d["regressions"][0].update(case="a\x1b[2Jb"), "regressions[0].case"),
        (lambda d: d["regressions"][0].update(owner="me"), "regressions[0].owner"),
        (lambda d: d["regressions"][0].pop("env"), "regressions[0].env"),
    ],
)
def test_a_hostile_record_is_refused_in_one_line(
    results: Path, capsys: pytest.CaptureFixture[str], change: object, field: str
) -> None:
    good = {
        "case": CASE, "metric": "cpu events", "platform": PLATFORM, "env": "e",
        "scenario": "quick", "first_run": "r", "first_date": "2026-11-30", "last_good": "g",
        "cost": 2.0, "nights": ["r"], "state": "open",
    }  # fmt: skip
    doc = {"schema": record.SCHEMA, "regressions": [good]}
    change(doc)  # type: ignore[operator]
    (results / record.FILE).write_text(json.dumps(doc))
    code, out = gate(results, capsys)
    assert code == 2
    (line,) = out.strip().splitlines()
    assert str(results / record.FILE) in line
    assert field in line
    assert "remove it" in line
    assert "\x1b" not in line


def test_the_record_is_written_only_into_a_directory_of_ours(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chmod(results, 0o777)  # noqa: S103 - the unsafe directory under test
    code, out = gate(results, capsys)
    assert code == 2
    assert "writable by other users" in out
    assert not (results / record.FILE).exists()


def test_the_report_lists_open_regressions_with_what_changed(
    results: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    night("0001_unchanged1.json", results / "0007_bad1.json", "2026-11-30T02:00:00+00:00", 2.0,
          NEW_ENGINE)  # fmt: skip
    assert gate(results, capsys)[0] == 2
    # A record that someone else edited: a hostile case name is text in the page, never markup.
    doc = json.loads((results / record.FILE).read_text())
    doc["regressions"][0]["case"] = "<script>alert(1)</script>"
    (results / record.FILE).write_text(json.dumps(doc))
    out = tmp_path / "index.html"
    data = tmp_path / "verdicts.json"
    assert main(["report", str(results), "-o", str(out), "--json", str(data)]) == 0
    (group,) = json.loads(data.read_text())["groups"]
    listed = group["open_regressions"]
    assert [r["case"] for r in listed] == ["<script>alert(1)</script>"]  # sysbench's one metric
    assert all(r["first_run"] == "0007_bad1" and r["nights"] == 1 for r in listed)
    assert all(r["confirmed"] == "" for r in listed)  # one night: suspected
    assert all(
        "docker-bridge engine_version 20.10.24+dfsg1 -> 24.0.9" in r["changed"] for r in listed
    )
    html = out.read_text()
    section = html.split("Open regressions of record (", 1)[1].split("</section>", 1)[0]
    assert section.startswith(f"{len(opened(results))})")
    assert "0007_bad1 (2026-11-30)" in section
    assert '<td class="l"><b>suspected</b></td>' in section
    assert "docker-bridge engine_version 20.10.24+dfsg1 -&gt; 24.0.9" in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "<script>alert" not in html
