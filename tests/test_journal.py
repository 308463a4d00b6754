"""The run journal: finished cases survive crashes and interruptions, and the report reads them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.suite_run import run_until_case
from tests.synthetic import case_record
from triptych.cli import main
from triptych.errors import TriptychError
from triptych.journal import Journal, read_journal
from triptych.results.load import load_runs
from triptych.sample import Sample
from triptych.session import new_session_id

ROOT = Path(__file__).parent.parent
RECORD = case_record(
    "host",
    "cpu",
    "cpu",
    [Sample("cpu events", 10.0, "events/s", True, {"round": 0}, 0.0)],
)


def test_roundtrip_and_partial(tmp_path: Path) -> None:
    s1 = new_session_id()
    j = Journal(tmp_path / "s1.jsonl", s1, {"cpu_model": "x"})
    j.case("t/cpu/host", RECORD, "passed")
    run = read_journal(tmp_path / "s1.jsonl")
    assert run.partial
    assert run.session == s1
    assert run.doc["benchmarks"][0]["extra_info"]["measured"][0]["samples"][0]["value"] == 10.0
    j.close(complete=True, exitstatus=0)
    assert not read_journal(tmp_path / "s1.jsonl").partial


def test_half_written_last_record_is_ignored_with_a_warning(tmp_path: Path) -> None:
    s2 = new_session_id()
    j = Journal(tmp_path / "s2.jsonl", s2, {})
    j.case("t/cpu/host", RECORD, "passed")
    j.close(complete=False, exitstatus=2)
    with (tmp_path / "s2.jsonl").open("a") as f:
        f.write('{"type": "case", "name": "t/disk/host", "extra_info": {"sampl')  # the crash
    runs = load_runs([tmp_path])
    assert runs.partial == {f"{s2}-journal"}
    assert len(runs.samples) == 1
    assert any("last record is half-written and was ignored" in w for w in runs.warnings)


@pytest.mark.fault
def test_unwritable_journal_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TriptychError, match=r"cannot write the run journal .*writable"):
        Journal(blocker / "j.jsonl", "s", {})


@pytest.mark.fault
def test_disk_full_is_a_clear_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    j = Journal.__new__(Journal)
    j.path = Path("/dev/full")
    j._fd = os.open("/dev/full", os.O_WRONLY)
    try:
        with pytest.raises(
            TriptychError, match=r"cannot append to the run journal .*free disk space"
        ):
            j.case("x", RECORD, "passed")
    finally:
        os.close(j._fd)


def test_saved_json_wins_over_its_journal(tmp_path: Path) -> None:
    s3 = new_session_id()
    j = Journal(tmp_path / "journal" / "s3.jsonl", s3, {})
    j.case("t/cpu/host", RECORD, "passed")
    j.close(complete=True, exitstatus=0)
    doc = {
        "datetime": "2026-11-28T00:00:00",
        "machine_info": {"triptych": {"session": s3}},
        "commit_info": {},
        "benchmarks": [{"name": "x", "extra_info": RECORD.to_extra_info()}],
    }
    (tmp_path / "0001_x.json").write_text(json.dumps(doc))
    runs = load_runs([tmp_path])
    assert set(runs.samples.run) == {"0001_x"}


SLOW = """
[scenario]
name = "t"
platforms = ["host"]
rounds = 1
duration = 1

[[case]]
name = "cpu"
workload = "sysbench-cpu"

[[case]]
name = "net"
workload = "iperf3-tcp"
duration = 60
"""


@pytest.mark.fault
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_keeps_finished_cases_and_leaves_nothing(
    tmp_path: Path, sig: signal.Signals
) -> None:
    scratch = tmp_path / "scratch"
    # Signalled 2 s into the 60 s iperf3 case.
    proc, _ = run_until_case(
        tmp_path, SLOW, "--benchmark-save=t", f"--triptych-scratch={scratch}", wait=60, settle=2
    )
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    runs = load_runs([tmp_path / ".benchmarks"])
    assert len(runs.partial) == 1
    assert set(runs.samples.case) == {"cpu"}
    assert runs.samples.value.iloc[0] > 0
    # Nothing of the run is left: no iperf3 server, no scratch directory.
    assert list(scratch.iterdir()) == []
    ps = subprocess.run(
        ["pgrep", "-f", "iperf3 -s -B 127.0.0.1 -p 15201"], capture_output=True, check=False
    )
    assert ps.returncode == 1, ps.stdout
    report = tmp_path / "index.html"
    assert main(["report", str(tmp_path / ".benchmarks"), "-o", str(report)]) == 0
    assert "PARTIAL" in report.read_text()
