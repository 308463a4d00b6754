"""A round records how busy the machine was: real processes outside the run are seen, the run's
own are not, and a report of a run measured beside other work says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.suite_run import run_suite
from tests.synthetic import noisy, write_run
from triptych import quiet
from triptych.report.render import render
from triptych.results.load import load_runs

BURN = "import time\nend = time.time() + 30\nwhile time.time() < end: pass\n"


BURNED = 0.5  # CPU seconds the burner must have used before the second snapshot


def _seen_while(start: list[str]) -> tuple[float, float]:
    """Start a CPU burner, wait until it has burned BURNED seconds of CPU (an event, however
    busy the machine: never a fixed sleep), snapshot again: (CPU seconds the snapshots counted
    as foreign for it, the foreign share of the machine between them)."""
    before = quiet.snapshot()
    proc = subprocess.Popen(start, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pid = int(proc.stdout.readline())
    burner = psutil.Process(pid)
    deadline = time.monotonic() + 60
    while sum(burner.cpu_times()[:2]) < BURNED:
        assert time.monotonic() < deadline, "the burner got no CPU within 60 s"
        time.sleep(0.02)  # polling the event, not measuring a window
    after = quiet.snapshot()
    os.kill(pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    counted = after.foreign.get(pid, 0.0) - before.foreign.get(pid, 0.0)
    return counted, quiet.foreign_share(before, after)


def test_a_process_outside_the_run_is_foreign_and_the_run_s_own_is_not() -> None:
    # Detached (its parent exits, it is adopted by init): outside this run's process tree.
    detached = ["sh", "-c", f'{sys.executable} -c "{BURN}" & echo $!']
    counted, share = _seen_while(detached)
    assert counted >= BURNED  # every CPU second it burned was counted as foreign
    assert share > 0
    # A child of this process: the run's own work, not a disturbance.
    own = [sys.executable, "-c", f"import os; print(os.getpid(), flush=True)\n{BURN}"]
    counted, _ = _seen_while(own)
    assert counted == 0.0


def test_a_report_says_when_the_machine_was_not_quiet(tmp_path: Path) -> None:
    saved = write_run(tmp_path / "0001_busy.json", ["host", "docker-bridge"], 3, noisy({}))
    doc = json.loads(saved.read_text())
    for b in doc["benchmarks"]:
        info = b["extra_info"]
        for r in info["measured"]:
            busy = info["platform"] == "docker-bridge" and r["number"] == 1
            r["foreign_cpu"] = 0.42 if busy else 0.01
    saved.write_text(json.dumps(doc))
    html = render(load_runs([saved]))
    assert "Not a quiet machine: in 2 of 12 rounds" in html
    assert "up to 42%" in html
    quiet_run = write_run(tmp_path / "q" / "0001_quiet.json", ["host"], 3, noisy({}))
    assert "Not a quiet machine" not in render(load_runs([quiet_run]))


SCENARIO = """
[scenario]
name = "hog"
platforms = ["host"]
rounds = 2
duration = 2
warmup = 0

[[case]]
name = "cpu"
workload = "sysbench-cpu"
"""


@pytest.mark.slow
def test_a_real_run_beside_a_cpu_hog_is_flagged_and_a_quiet_one_is_not(tmp_path: Path) -> None:
    pages = {}
    for name in ("quiet", "hog"):
        where = tmp_path / name
        where.mkdir()
        hog = None
        if name == "hog":  # detached: outside the run's process tree
            hog = subprocess.Popen(
                ["sh", "-c", f'{sys.executable} -c "{BURN}" & echo $!'],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert hog.stdout is not None
            hog_pid = int(hog.stdout.readline())
        try:
            result = run_suite(where, SCENARIO, f"--benchmark-save={name}")
        finally:
            if hog is not None:
                os.kill(hog_pid, signal.SIGKILL)
                hog.wait()
                assert hog.stdout is not None
                hog.stdout.close()
        assert result.returncode == 0, result.stdout[-2000:]
        (saved,) = where.glob(".benchmarks/*/*.json")
        pages[name] = render(load_runs([saved]))
    assert "Not a quiet machine: in 2 of 2 rounds" in pages["hog"]
    assert "Not a quiet machine" not in pages["quiet"]
