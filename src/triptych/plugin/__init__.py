"""The pytest plugin: scenario x platform x variant parametrization, platforms, machine info.

`pytest bench/ --benchmark-save=NAME --triptych-scenarios=scenarios/quick.toml` collects one test
(a Trial) per case, platform and variant; the test requests the `triptych_trial`,
`triptych_platform`, `triptych_journal` and `benchmark` fixtures and calls
`triptych.runner.run_trial`.

The hooks and fixtures live in the modules of this package, by responsibility: options
(options.py), which tests and in what order (collection.py), the run session: lock, journal,
save guard, platforms and machine record (session.py), and the terminal summary (terminal.py).
pytest finds them here, where the `pytest11` entry point points.
"""

from __future__ import annotations

from triptych.plugin.collection import pytest_collection_modifyitems, pytest_generate_tests
from triptych.plugin.options import pytest_addoption
from triptych.plugin.session import (
    pytest_benchmark_update_machine_info,
    pytest_collection_finish,
    pytest_configure,
    pytest_runtest_makereport,
    pytest_runtestloop,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_unconfigure,
    triptych_journal,
    triptych_platform,
    triptych_pool,
    triptych_session,
    triptych_setups,
)
from triptych.plugin.terminal import pytest_terminal_summary

__all__ = [
    "pytest_addoption",
    "pytest_benchmark_update_machine_info",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_makereport",
    "pytest_runtestloop",
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "triptych_journal",
    "triptych_platform",
    "triptych_pool",
    "triptych_session",
    "triptych_setups",
]
