"""One measuring run per machine: a second run refuses in one line naming the first, or waits
for it with --triptych-wait; a dead holder never blocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.suite_run import run_suite, suite_argv, suite_env
from triptych import machine_lock
from triptych.session import new_session_id

SCENARIO = """
[scenario]
name = "locked"
platforms = ["host"]
rounds = 2
duration = 1

[[case]]
name = "cpu"
workload = "sysbench-cpu"
"""


def test_a_held_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    first = new_session_id()
    fd = machine_lock.acquire(first, wait=False, path=path)
    try:
        with pytest.raises(machine_lock.MachineBusy) as e:
            machine_lock.acquire("second", wait=False, path=path)
        assert f"(session {first}, pid {os.getpid()}, since " in str(e.value)
        assert "--triptych-wait" in str(e.value)
    finally:
        machine_lock.release(fd)
    machine_lock.release(machine_lock.acquire("second", wait=False, path=path))


def test_a_dead_holder_never_blocks(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    doomed = new_session_id()
    code = (
        "import sys, time; from pathlib import Path; from triptych import machine_lock; "
        f"machine_lock.acquire({doomed!r}, False, Path(sys.argv[1])); print('held', flush=True); "
        "time.sleep(600)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"held"
    with pytest.raises(machine_lock.MachineBusy, match=f"session {doomed}"):
        machine_lock.acquire("next", wait=False, path=path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    machine_lock.release(machine_lock.acquire("next", wait=False, path=path))


@pytest.mark.slow
def test_a_second_run_refuses_in_one_line_or_waits(tmp_path: Path) -> None:
    lock = tmp_path / "machine.lock"
    env = suite_env(TRIPTYCH_LOCK=str(lock))
    held = new_session_id()
    fd = machine_lock.acquire(held, wait=False, path=lock)
    try:
        (tmp_path / "refused").mkdir()
        # With --benchmark-save too: the refusal stays one line (pytest-benchmark's "Not saving
        # anything" warning, an error under filterwarnings = error, once turned it into a
        # traceback).
        refused = run_suite(tmp_path / "refused", SCENARIO, "--benchmark-save=x", env=env)
        assert refused.returncode == 4, refused.stdout[-2000:]
        (line,) = [x for x in refused.stdout.splitlines() if "another triptych run" in x]
        assert f"(session {held}, pid {os.getpid()}, since " in line
        assert "Traceback" not in refused.stdout
        assert not list((tmp_path / "refused").glob(".benchmarks/*/*.json"))
        where = tmp_path / "waits"
        where.mkdir()
        waiting = subprocess.Popen(
            suite_argv(where, SCENARIO, "--triptych-wait", "--benchmark-save=waited"),
            cwd=where,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        time.sleep(5)
        assert waiting.poll() is None  # still waiting for the lock
    finally:
        machine_lock.release(fd)
    out, _ = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, out[-2000:]
    assert f"triptych: waiting for session {held}" in out
    assert list(where.glob(".benchmarks/*/*.json"))
