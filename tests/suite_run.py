"""Running the benchmark suite as a separate process, to fault it in the middle of a case."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def run_until_first_case(
    tmp_path: Path, scenario: str, *options: str, wait: float, settle: float
) -> tuple[subprocess.Popen[str], Path]:
    """Start `pytest bench` on scenario; return once its first case is journalled, plus settle s."""
    shutil.copy(ROOT / "bench" / "test_triptych.py", tmp_path / "test_triptych.py")
    (tmp_path / "s.toml").write_text(scenario)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "test_triptych.py",
        "-p",
        "no:cacheprovider",
        "--triptych-scenarios=s.toml",
        *options,
    ]
    proc = subprocess.Popen(
        argv,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    journal_dir = tmp_path / ".benchmarks" / "journal"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(journal_dir.glob("*.jsonl"))
        if found and b'"type":"case"' in found[0].read_bytes():
            time.sleep(settle)  # the next case is now running
            return proc, found[0]
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the first case never reached the journal: {proc.communicate()[0][-2000:]}")
