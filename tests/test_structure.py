"""The shape of the code, checked: small modules and functions, imports that run one way, and
a plugin that loads without the engines' libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "triptych"
ROOT = SRC.parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
# Modules everything else builds on: they must not reach up into platforms, workloads or the
# report (or the layers above them).
LOW_LEVEL = (
    "cleanup", "journal", "process", "images", "sample", "session", "record", "errors",
    "service_user", "private_path", "fields", "machine_lock",
)  # fmt: skip
HIGHER = ("triptych.platforms", "triptych.workloads", "triptych.report", "triptych.runner")


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_modules_are_small() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_functions_are_small() -> None:
    long = {}
    for p in _modules():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{p.relative_to(SRC)}:{node.name}"] = n
    assert long == {}


def test_low_level_modules_do_not_import_upwards() -> None:
    upward = {
        name: sorted(m for m in _imports(SRC / f"{name}.py") if m.startswith(HIGHER))
        for name in LOW_LEVEL
    }
    assert {k: v for k, v in upward.items() if v} == {}


# Who reads saved runs as data: they take it from the results package, never from the report.
DATA_CONSUMERS = ("gate", "store", "results", "verdict", "plugin")


def test_no_module_outside_the_report_imports_it_for_data() -> None:
    reaching = {
        str(p.relative_to(SRC)): sorted(m for m in _imports(p) if m.startswith("triptych.report"))
        for package in DATA_CONSUMERS
        for p in (SRC / package).rglob("*.py")
    }
    # The terminal summary is drawn by the report's terminal module: the plugin calls it (a
    # view, not data), and nothing else of the report.
    reaching["plugin/terminal.py"] = [
        m for m in reaching.get("plugin/terminal.py", []) if m != "triptych.report.terminal"
    ]
    assert {k: v for k, v in reaching.items() if v} == {}


def test_plugin_and_scenario_load_without_docker_or_libvirt() -> None:
    # The plugin is active in every pytest run of the environment: it must stay light.
    code = (
        "import sys; from pathlib import Path; import triptych.plugin; "
        "from triptych.scenario import load_scenario; "
        "load_scenario(Path('scenarios/default.toml')); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'docker', 'libvirt', 'libvirt_qemu'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_command_and_the_run_reader_load_without_numpy_or_pandas() -> None:
    # The report forks its readers before importing its analysis (results/digest.py): a reader
    # that pulled in numpy or pandas would make every worker large and the cold report slow.
    code = (
        "import sys; import triptych.cli, triptych.results.digest; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'pandas', 'scipy'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# The tests of what is computed from captured output and saved data: they need no engine.
ENGINE_FREE_TESTS = (
    "tests/test_parsers.py",
    "tests/test_service_parsers.py",
    "tests/test_stats.py",
    "tests/test_per_unit.py",
    "tests/test_scenario.py",
    "tests/test_hostile_inputs.py",
    "tests/test_runner_fast.py",
    "tests/test_nested.py",
)
BLOCK_ENGINES = """
import builtins, sys
real = builtins.__import__
def guard(name, *args, **kwargs):
    if name.split(".")[0] in ("docker", "libvirt", "libvirt_qemu"):
        raise ImportError(f"{name} is blocked: this test must not need an engine")
    return real(name, *args, **kwargs)
builtins.__import__ = guard
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
"""


# Two long tests of those files, whose fixtures and imports the others share (CI time).
LONG_ENGINE_FREE = "not borrows_the_machines_own_noise and not by_brute_force_enumeration"


def test_parser_and_statistics_tests_run_without_docker_or_libvirt() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_ENGINES, *ENGINE_FREE_TESTS, "-k", LONG_ENGINE_FREE],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
