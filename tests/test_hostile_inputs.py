"""Files we did not write, made hostile or damaged: saved runs, journals, names that would break
the gate's Markdown or the workflow, dates from the future, and gate arguments that would switch
the gate off. Each is one line or a warning naming it; the rest goes on."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.synthetic import Metric, case_record, write_run
from triptych import fields
from triptych.cli import main
from triptych.errors import TriptychError
from triptych.journal import Journal, read_journal
from triptych.platforms.host import HostPlatform
from triptych.record import CaseRecord, RecordError
from triptych.results.load import load_runs
from triptych.sample import Sample
from triptych.session import new_session_id
from triptych.workloads.base import RunSpec
from triptych.workloads.disk import Fio, FioParams


def steady(seed: int) -> Any:
    rng = np.random.default_rng(seed)
    return lambda platform, metric, r: 1000.0 * (1 + 0.01 * rng.standard_normal())


def _record_doc(**changes: Any) -> dict[str, Any]:
    samples = [Sample("cpu events", 1000.0, "events/s", True, {"round": 0})]
    info = case_record("host", "cpu", "cpu", samples).to_extra_info()
    info.update(changes)
    return info


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"primary_variant": "false"}, "primary_variant: expected true or false"),
        ({"measured": {"metric": "x"}}, "measured: expected a list"),
        ({"measured": [{"number": 0, "client_placement": "beside"}]}, "client_placement: 'beside'"),
        ({"measured": [{"number": 0, "foreign_cpu": "busy"}]}, "foreign_cpu: expected a number"),
        ({"params": ["connections", 8]}, "params: expected an object"),
        ({"platform_rank": 1e300}, "platform_rank: expected an integer"),
        ({"platform_metadata": {"cpus": [1, 2]}}, "platform_metadata.cpus: expected a plain"),
        ({"rounds_policy": [1]}, "rounds_policy: expected an object"),
    ],
)
def test_a_stored_record_is_type_checked_field_by_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordError) as e:
        CaseRecord.from_extra_info(_record_doc(**changes), "run.json: benchmark x")
    assert f"run.json: benchmark x: malformed record ({field}" in str(e.value)


@pytest.mark.parametrize("value", [1e300, float("inf"), float("nan"), "1000", True])
def test_a_sample_value_must_be_a_finite_figure(value: object) -> None:
    info = _record_doc()
    info["measured"][0]["samples"][0]["value"] = value
    with pytest.raises(RecordError, match=r"malformed record \(value: "):
        CaseRecord.from_extra_info(info)


def test_in_a_directory_one_unreadable_run_is_skipped_and_named(tmp_path: Path) -> None:
    runs_dir = tmp_path / "results"
    runs_dir.mkdir()
    good = write_run(runs_dir / "0001_good.json", ["host", "docker-host"], 3, steady(1))
    (runs_dir / "0002_torn.json").write_text('{"benchmarks": [')
    doc = json.loads(good.read_text())
    doc["benchmarks"][0]["extra_info"]["emulated"] = "false"
    (runs_dir / "0003_typed.json").write_text(json.dumps(doc))
    (runs_dir / "0004_list.json").write_text("[1, 2, 3]")
    os.mkfifo(runs_dir / "0005_fifo.json")  # would block a reader forever
    (runs_dir / "0006_link.json").symlink_to(good)
    with (runs_dir / "0007_huge.json").open("wb") as f:
        f.truncate(300 * 2**20)  # sparse: costs nothing, but is over the cap
    runs = load_runs([runs_dir])
    assert set(runs.samples.run) == {"0001_good"}
    skipped = [w for w in runs.warnings if w.startswith("skipped ")]
    assert len(skipped) == 5, runs.warnings
    for name, why in (
        ("0002_torn", "not a readable pytest-benchmark run"),
        ("0003_typed", "emulated: expected true or false"),
        ("0004_list", "no 'benchmarks'"),
        ("0005_fifo", "not a regular file"),
        ("0007_huge", "larger than 256 MiB"),
    ):
        assert any(name in w and why in w for w in skipped), (name, skipped)
    # The report renders what could be read, and says what it skipped.
    out = tmp_path / "index.html"
    assert main(["report", str(runs_dir), "-o", str(out)]) == 0
    assert "0003_typed" in out.read_text()


def test_a_run_named_on_the_command_line_must_be_readable(tmp_path: Path) -> None:
    torn = tmp_path / "torn.json"
    torn.write_text('{"benchmarks": [')
    with pytest.raises(Exception, match="not a readable pytest-benchmark run"):
        load_runs([torn])


def test_damaged_journal_lines_are_skipped_with_their_line(tmp_path: Path) -> None:
    session = new_session_id()
    path = tmp_path / f"{session}.jsonl"
    j = Journal(path, session, {})
    samples = [Sample("cpu events", 10.0, "events/s", True, {"round": 0})]
    j.case("t/cpu/host", case_record("host", "cpu", "cpu", samples), "passed")
    with path.open("ab") as f:
        f.write(b"[" * 100_000 + b"\n")  # nested past any parser's stack
        f.write(b"\xff\xfe not utf-8\n")
        f.write(b"[1, 2, 3]\n")  # JSON, but not a record
        f.write(b'{"type": "case", "name": 5, "extra_info": []}\n')
    j.close(complete=True, exitstatus=0)
    run = read_journal(path)
    assert len(run.doc["benchmarks"]) == 1
    assert any("line 3 is damaged and was ignored" in w for w in run.warnings), run.warnings
    assert any("line 4 is damaged" in w for w in run.warnings)
    assert any("line 5 is not a journal record" in w for w in run.warnings)
    assert any("a case record of the wrong shape" in w for w in run.warnings)
    assert not run.partial


def test_a_journal_whose_session_is_a_path_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"type": "run", "session": "../../etc/passwd"}) + "\n")
    runs = load_runs([tmp_path])
    assert runs.samples.empty
    assert any("its session id is not one triptych writes" in w for w in runs.warnings)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--threshold", "nan"], "--threshold 'nan': give a percentage from 0 to 100"),
        (["--threshold", "inf"], "--threshold 'inf': give a percentage from 0 to 100"),
        (["--threshold", "-1"], "--threshold '-1'"),
        (["--threshold", "101"], "--threshold '101'"),
        (["--metric-threshold", "cpu events=nan"], "--metric-threshold cpu events= 'nan'"),
        (["--last", "0"], "--last 0: give the number of earlier runs"),
        (["--calibrate", "0"], "--calibrate 0: give the number of earlier runs"),
    ],
)
def test_gate_arguments_that_would_switch_it_off_are_refused_before_any_io(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    # The run paths do not exist: the refusal must come before anything is read.
    assert main(["compare", "/nonexistent/a", *argv]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert said in line


HOSTILE: list[Metric] = [
    ("cpu|x <!-- hide", "cpu", "cpu events\n::stop-commands::tok", "events/s", True),
]


def test_names_from_saved_runs_cannot_break_the_markdown_or_the_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_run(tmp_path / "b.json", ["host", "docker-host"], 5, steady(1), HOSTILE)
    rng = np.random.default_rng(2)

    def slower(platform: str, metric: Metric, r: int) -> float:
        return 1000.0 * (0.5 if platform == "docker-host" else 1) * (1 + 0.01 * rng.random())

    cur = write_run(tmp_path / "c|`x`\n::error::pwned.json", ["host", "docker-host"], 5, slower,
                    HOSTILE)  # fmt: skip
    summary = tmp_path / "summary.md"
    os.environ["GITHUB_STEP_SUMMARY"] = str(summary)
    try:
        assert main(["compare", str(base), str(cur)]) == 1
    finally:
        del os.environ["GITHUB_STEP_SUMMARY"]
    out = capsys.readouterr().out
    for text in (out, summary.read_text()):
        lines = text.splitlines()
        assert not any(line.lstrip().startswith(("::", "##[")) for line in lines), text
        assert "<!--" not in text
        (row,) = [line for line in lines if "stop-commands" in line]
        # Its cells are still eight: every | from a name is escaped.
        assert len(re.findall(r"(?<!\\)\|", row)) == 9, row
        assert "cpu\\|x &lt;\\!-- hide" in row


def test_a_run_dated_in_the_future_is_never_tonights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_dir = tmp_path / "results"
    runs_dir.mkdir()
    for i, date in enumerate(["2026-11-20T02:00:00", "2026-11-21T02:00:00", "2099-01-01T00:00:00"]):
        write_run(runs_dir / f"000{i + 1}_n.json", ["host", "docker-host"], 3, steady(i), date=date)
    write_run(runs_dir / "0004_n.json", ["host", "docker-host"], 3, steady(9),
              date="2026-11-22T02:00:00")  # fmt: skip
    assert main(["compare", str(runs_dir), "--last", "7", "--calibrate", "2"]) == 0
    out = capsys.readouterr().out
    assert "-> 0004\\_n" in out  # tonight's run is the newest real one
    assert "run 0003\\_n is dated 2099-01-01T00:00:00, after this machine's clock" in out
    assert "3 earlier run(s)" not in out


def test_a_fio_file_that_would_fill_the_disk_is_refused_before_writing(tmp_path: Path) -> None:
    with HostPlatform(new_session_id(), tmp_path / "scratch") as host:
        fio = Fio(FioParams(size="999999G"), RunSpec(duration=1, timeout=60))
        with pytest.raises(TriptychError) as e:
            fio.prepare(host, "host-fs")
        message = str(e.value)
        assert "\n" not in message
        assert "fio params.size = '999999G' does not fit in" in message
        assert "set a smaller params.size in the scenario" in message
        assert not list(Path(host.scratch("host-fs").path).glob("triptych-fio.dat"))


def test_a_file_is_read_whole_up_to_its_cap_even_when_it_is_larger_than_fstat_said(
    tmp_path: Path,
) -> None:
    f = tmp_path / "run.json"
    f.write_bytes(b"x" * 10)
    assert fields.read_file(f, cap=10) == b"x" * 10
    f.write_bytes(b"x" * 11)
    with pytest.raises(OSError, match="larger than"):
        fields.read_file(f, cap=10)
    # A regular file whose size fstat gives as 0 (it grows as it is read): read to its end.
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    whole = fields.read_file(status)
    assert whole.startswith(b"Name:")
    assert b"\nPid:" in whole
    with pytest.raises(OSError, match="larger than"):
        fields.read_file(status, cap=10)
