"""Confirmation before failing, on the six real unchanged quick runs of tests/data/history: a
night's suspected regressions name their cases for a rerun the same night, and the rerun,
gated with --confirming on the suspected metrics alone, confirms them (the gate fails) or
clears them; a rerun that is not one confirms nothing."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.gate_sim import CASE, HISTORY, PLATFORM, copied_history, gate_last, night
from triptych.cli import main
from triptych.gate import confirm, record
from triptych.report.analysis import analyse
from triptych.results.load import load_runs
from triptych.store.read import Selection, report_view

FLAGGED = "confirm.cases"
VM = "vm [TCG emulation]"  # the column label of the guest in these runs


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return copied_history(tmp_path)


gate = gate_last


def rerun(
    src: str, dst: Path, date: str, factor: float, case: str = CASE, platforms: str = ""
) -> Path:
    """A night's rerun of one case: a real run's figures of that case alone (and of those
    platforms alone, comma-separated, as --triptych-platforms runs them)."""
    night(src, dst, date, factor)
    doc = json.loads(dst.read_text())
    only = set(platforms.split(",")) if platforms else None
    doc["benchmarks"] = [
        b
        for b in doc["benchmarks"]
        if b["extra_info"]["case"] == case and (only is None or b["extra_info"]["platform"] in only)
    ]
    doc["machine_info"]["triptych"]["selected_cases"] = [case]  # as --triptych-cases records
    assert doc["benchmarks"]
    dst.write_text(json.dumps(doc))
    return dst


def suspected_night(results: Path, capsys: pytest.CaptureFixture[str]) -> list[record.Regression]:
    """Night 7: sysbench in a container twice as slow; the gate suspects it and names its case."""
    night("0001_unchanged1.json", results / "0007_bad.json", "2026-11-30T02:00:00+00:00", 2.0)
    code, out = gate(results, capsys, "--flagged", str(results / FLAGGED))
    assert code == 2, out
    # The case and its platform: the rerun starts no guest and no host server for a container.
    assert (results / FLAGGED).read_text() == f"{CASE} {PLATFORM}\n"
    assert f"rerun the suspected case(s) tonight to decide them: {CASE} on {PLATFORM}" in out
    opened = [r for r in record.load(results / record.FILE).regressions if r.state == record.OPEN]
    assert {(r.case, r.platform, r.confirmed) for r in opened} == {(CASE, PLATFORM, "")}
    return opened


def test_a_rerun_that_regresses_again_confirms_and_fails_the_night(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = suspected_night(results, capsys)
    rerun("0002_unchanged2.json", results / "0008_rerun.json", "2026-11-30T03:00:00+00:00", 2.0)
    code, out = gate(results, capsys, "--confirming")
    assert code == 1, out
    now = {r.key: r for r in record.load(results / record.FILE).regressions}
    assert {k: (r.state, r.nights, r.confirmed) for k, r in now.items()} == {
        r.key: (record.OPEN, ("0007_bad", "0008_rerun"), "0008_rerun") for r in first
    }
    # Only the suspected metrics were compared: the rerun lacks every other case, and that is
    # no failure of its own.
    assert "lacks" not in out
    assert "memory-stream" not in out
    # The next night, still slow, fails too: confirmed stays confirmed until accepted.
    night("0003_unchanged3.json", results / "0009_bad.json", "2026-12-01T02:00:00+00:00", 2.0)
    code, out = gate(results, capsys, "--flagged", str(results / FLAGGED))
    assert code == 1, out
    assert not (results / FLAGGED).exists()  # nothing suspected: nothing to rerun


def test_a_rerun_back_to_normal_clears_the_suspicion_the_same_night(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = suspected_night(results, capsys)
    rerun("0002_unchanged2.json", results / "0008_rerun.json", "2026-11-30T03:00:00+00:00", 1.0)
    code, out = gate(results, capsys, "--confirming")
    assert code == 0, out
    now = {r.key: r for r in record.load(results / record.FILE).regressions}
    assert {k: (r.state, r.closed_run) for k, r in now.items()} == {
        r.key: (record.REVERTED, "0008_rerun") for r in first
    }
    assert "reverted tonight" in out
    # The next night gates as usual: passes, nothing open, nothing to rerun.
    night("0003_unchanged3.json", results / "0009_ok.json", "2026-12-01T02:00:00+00:00", 1.0)
    code, out = gate(results, capsys, "--flagged", str(results / FLAGGED))
    assert code == 0, out
    assert not (results / FLAGGED).exists()


def slower(path: Path, platform: str, factor: float) -> None:
    """The run at path with sysbench on `platform` made `factor` times worse."""
    doc = json.loads(path.read_text())
    for bench in doc["benchmarks"]:
        info = bench["extra_info"]
        if (info["case"], info["platform"]) == (CASE, platform):
            for s in info["samples"]:
                hib = s["higher_is_better"]
                s["value"] = s["value"] / factor if hib else s["value"] * factor
    path.write_text(json.dumps(doc))


def test_a_rerun_leaves_what_shares_its_night_to_the_next_night(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The guest runs under emulation here: a rerun the same night re-draws too little of its
    spread to tell a slow night from a regression, so the rerun decides the container's metric
    and leaves the guest's open, for the next night."""
    bad = night("0001_unchanged1.json", results / "0007_bad.json", "2026-11-30T02:00:00+00:00", 2.0)
    slower(bad, "vm", 3.0)
    code, out = gate(results, capsys, "--flagged", str(results / FLAGGED))
    assert code == 2, out
    opened = {r.key for r in record.load(results / record.FILE).regressions}
    assert {(k[0], k[2]) for k in opened} == {(CASE, PLATFORM), (CASE, VM)}, out
    # Each column names its platform (the guest's label carries its emulation, not its name).
    assert (results / FLAGGED).read_text() == f"{CASE} {PLATFORM}\n{CASE} vm\n"
    again = rerun(
        "0002_unchanged2.json", results / "0008_rerun.json", "2026-11-30T03:00:00+00:00", 2.0,
        platforms=f"{PLATFORM},vm",
    )  # fmt: skip
    slower(again, "vm", 3.0)
    code, out = gate(results, capsys, "--confirming")
    assert code == 1, out  # the container's regression is confirmed
    now = {r.key: r for r in record.load(results / record.FILE).regressions}
    assert {(k[2], r.confirmed, r.nights) for k, r in now.items()} == {
        (PLATFORM, "0008_rerun", ("0007_bad", "0008_rerun")),
        (VM, "", ("0007_bad",)),  # untouched by the rerun: suspected still
    }
    assert "left to the next night" in out
    assert f"{CASE} / cpu events / vm \\[TCG emulation\\]" in out  # as Markdown escapes it


def test_what_is_not_a_rerun_confirms_nothing(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing suspected: nothing to confirm.
    code, out = gate(results, capsys, "--confirming")
    assert code == 2
    assert "--confirming: no suspected regression of record" in out
    assert len(out.strip().splitlines()) == 1
    suspected_night(results, capsys)
    before = (results / record.FILE).read_text()
    # No rerun saved: the newest run is the night itself.
    code, out = gate(results, capsys, "--confirming")
    assert code == 2
    assert "is the night that flagged the suspected regressions, not a rerun" in out
    # A rerun of another case.
    rerun("0002_unchanged2.json", results / "0008_other.json", "2026-11-30T03:00:00+00:00", 1.0,
          "memory-stream")  # fmt: skip
    code, out = gate(results, capsys, "--confirming")
    assert code == 2
    assert (
        f"has no figures of the suspected case(s) {CASE} on {PLATFORM}; rerun them with "
        f"--triptych-cases={CASE} --triptych-platforms={PLATFORM}"
    ) in out
    # The suspected case, on the host alone: not its platform, so no rerun of it either.
    rerun("0002_unchanged2.json", results / "0009_host.json", "2026-11-30T03:30:00+00:00", 1.0,
          platforms="host")  # fmt: skip
    code, out = gate(results, capsys, "--confirming")
    assert code == 2
    assert f"has no figures of the suspected case(s) {CASE} on {PLATFORM}" in out
    assert len(out.strip().splitlines()) == 1
    assert (results / record.FILE).read_text() == before  # the record is as the night left it


def test_the_flagged_file_goes_only_into_a_directory_of_ours(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    night("0001_unchanged1.json", results / "0007_bad.json", "2026-11-30T02:00:00+00:00", 2.0)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    code, out = gate(results, capsys, "--flagged", str(open_dir / FLAGGED))
    assert code == 2
    assert "the directory of the flagged cases is writable by other users" in out
    assert not (open_dir / FLAGGED).exists()


def test_flagged_and_confirming_go_with_last(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compare", str(HISTORY / "0001_unchanged1.json"),
                 str(HISTORY / "0002_unchanged2.json"), "--confirming"])  # fmt: skip
    assert code == 2
    assert "--flagged and --confirming go with --last" in capsys.readouterr().err


def test_without_confirming_a_rerun_is_judged_on_its_own_cases(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rerun("0002_unchanged2.json", results / "0007_rerun.json", "2026-11-30T03:00:00+00:00", 1.0)
    code, out = gate(results, capsys)
    assert code == 0, out  # the cases it did not run are not missing from it
    # A run that claims no selection, or a damaged one, lacks them: they are missing.
    doc = json.loads((results / "0007_rerun.json").read_text())
    for claim in ([], "cpu-sysbench", [CASE, "../x"], [1]):
        doc["machine_info"]["triptych"]["selected_cases"] = claim
        (results / "0007_rerun.json").write_text(json.dumps(doc))
        code, out = gate(results, capsys)
        assert code == 1, (claim, out)
        assert "CURRENT lacks" in out
        assert "disk-rand-read / randread IOPS" in out


def test_the_report_shows_the_night_and_not_its_rerun(
    results: Path, tmp_path: Path, store: str
) -> None:
    night("0001_unchanged1.json", results / "0007_bad.json", "2026-11-30T02:00:00+00:00", 2.0)
    rerun("0002_unchanged2.json", results / "0008_rerun.json", "2026-11-30T03:00:00+00:00", 2.0)
    runs = load_runs([results])
    (group,) = analyse(runs.samples, runs.machines, runs.partial, runs.platforms)
    assert group.latest == "0007_bad"
    assert group.runs[-1] == "0008_rerun"  # in the trend lines all the same
    # From the store alike.
    assert main(["publish", str(results), "--store", store]) == 0
    with psycopg.connect(store) as conn:
        view = report_view(conn, Selection())
    assert {str(r).split("@")[0] for r in view.samples.run} == {"0007_bad"}
    assert view.history is not None
    assert "0008_rerun" in {str(r).split("@")[0] for r in view.history.run}


def test_a_damaged_claim_of_a_selection_is_no_rerun_from_files_or_the_store(
    results: Path, store: str
) -> None:
    """The store reads a run's claim by the rule files are read by: a claim that names
    something no case could be named is no selection, and the run is the night's."""
    night("0001_unchanged1.json", results / "0007_bad.json", "2026-11-30T02:00:00+00:00", 2.0)
    claimed = rerun(
        "0002_unchanged2.json", results / "0008_x.json", "2026-11-30T03:00:00+00:00", 1.0
    )
    doc = json.loads(claimed.read_text())
    doc["machine_info"]["triptych"]["selected_cases"] = [CASE, "../x"]
    claimed.write_text(json.dumps(doc))
    runs = load_runs([results])
    (group,) = analyse(runs.samples, runs.machines, runs.partial, runs.platforms)
    assert group.latest == "0008_x"
    assert main(["publish", str(results), "--store", store]) == 0
    with psycopg.connect(store) as conn:
        view = report_view(conn, Selection())
    assert {str(r).split("@")[0] for r in view.samples.run} == {"0008_x"}


@pytest.mark.parametrize(
    ("label", "platform"),
    [
        ("host", "host"),
        ("docker-bridge (published)", "docker-bridge"),
        (VM, "vm"),
        ("host$(touch /tmp/x)", ""),
        ("host;vm", ""),
        ("<b>vm</b>", ""),
        ("vm\ndocker-host", ""),
        ("docker-host\t(x)", ""),
        (" vm", ""),
        ("VM", ""),
        ("../vm", ""),
        ("x" * 10_000, ""),
        ("docker-", ""),
        ("", ""),
    ],
)
def test_a_column_label_names_a_platform_only_by_its_catalogue_name(
    label: str, platform: str
) -> None:
    """The flagged file's platform comes from a label the store or a saved run carries: only a
    platform the suite declares is ever passed on to a rerun's --triptych-platforms."""
    assert confirm.platform_of(label) == platform
