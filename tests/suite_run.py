"""Running the benchmark suite as a separate process, to fault it from outside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
REQUIRE_ENV = "TRIPTYCH_REQUIRE_PLATFORMS"


def suite_argv(tmp_path: Path, scenario: str, *options: str) -> list[str]:
    """`pytest test_triptych.py` in tmp_path on this scenario (the bench module, copied)."""
    shutil.copy(ROOT / "bench" / "test_triptych.py", tmp_path / "test_triptych.py")
    (tmp_path / "s.toml").write_text(scenario)
    return [
        sys.executable,
        "-m",
        "pytest",
        "test_triptych.py",
        "-p",
        "no:cacheprovider",
        "-rs",
        "--triptych-scenarios=s.toml",
        *options,
    ]


def suite_env(**overrides: str) -> dict[str, str]:
    """The environment of a faulted run: no platform is required unless a test says so."""
    env = {k: v for k, v in os.environ.items() if k != REQUIRE_ENV}
    env.update(overrides)
    return env


def run_suite(
    tmp_path: Path,
    scenario: str,
    *options: str,
    env: dict[str, str] | None = None,
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """A whole run, to its end (its argv after `prefix`, e.g. a namespace wrapper)."""
    return subprocess.run(
        [*prefix, *suite_argv(tmp_path, scenario, *options)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env or suite_env(),
        timeout=900,
        check=False,
    )


def run_until_case(
    tmp_path: Path,
    scenario: str,
    *options: str,
    wait: float,
    settle: float,
    case: str = "",
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], Path]:
    """Start a run; return once `case` (any case if empty) is journalled, plus settle s."""
    proc = subprocess.Popen(
        suite_argv(tmp_path, scenario, *options),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=env or suite_env(),
    )
    journal_dir = tmp_path / ".benchmarks" / "journal"
    marker = f'"type":"case","name":"{case}' if case else '"type":"case"'
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(journal_dir.glob("*.jsonl"))
        if found and marker.encode() in found[0].read_bytes():
            time.sleep(settle)  # the next case is now running
            return proc, found[0]
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{case or 'no case'} never reached the journal: {proc.communicate()[0][-2000:]}")


def saved_run(where: Path, scenario: str, name: str, *options: str) -> tuple[Path, str]:
    """A whole run that must pass with every platform it names, saved as `name`: its saved
    JSON and its terminal output."""
    where.mkdir(exist_ok=True)
    result = run_suite(
        where,
        scenario,
        f"--benchmark-save={name}",
        *options,
        env=suite_env(TRIPTYCH_REQUIRE_PLATFORMS="all"),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    (saved,) = (where / ".benchmarks").glob("*/*.json")
    return saved, result.stdout
