"""The plugin's command-line options, and reading them."""

from __future__ import annotations

import os

import pytest

from triptych.cases import Scenario
from triptych.platforms.catalog import KINDS
from triptych.session import DEFAULT_SCRATCH

REQUIRE_ENV = "TRIPTYCH_REQUIRE_PLATFORMS"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("triptych", "triptych benchmark suite")
    group.addoption(
        "--triptych-scenarios",
        default=None,
        metavar="FILE[,FILE...]",
        help="scenario files to run (default: scenarios/quick.toml)",
    )
    group.addoption(
        "--triptych-platforms",
        default=None,
        metavar="LIST",
        help="comma-separated platforms to run on (default: each scenario's list)",
    )
    group.addoption(
        "--triptych-cases",
        default=None,
        metavar="LIST",
        help="comma-separated case names to run (default: every case of the scenarios); a "
        "swept case's series name selects all its values",
    )
    group.addoption(
        "--triptych-require-platforms",
        default=os.environ.get(REQUIRE_ENV),
        metavar="LIST",
        help="platforms that must not be skipped: a skip becomes a failure "
        f"(default: ${REQUIRE_ENV}; 'all' means every selected platform)",
    )
    group.addoption(
        "--triptych-order",
        default="shuffle",
        choices=("shuffle", "scenario"),
        help="order of the platforms within each case: shuffled (default; a drifting machine "
        "then favours no platform) or as the scenario lists them",
    )
    group.addoption(
        "--triptych-seed",
        type=int,
        default=None,
        help="seed of the shuffle (default: random; recorded in the saved run)",
    )
    group.addoption(
        "--triptych-journal",
        default=None,
        metavar="DIR",
        help="where each finished case is journalled as it completes (kept if the run dies); "
        "default: journal/ in the --benchmark-storage directory",
    )
    _add_machine_options(group)


def _add_machine_options(group: pytest.OptionGroup) -> None:
    """Where the run keeps its files, and how it shares the machine."""
    group.addoption(
        "--triptych-wait",
        action="store_true",
        help="if another run is measuring on this machine, wait for it to end (default: "
        "refuse to start)",
    )
    group.addoption(
        "--triptych-scratch",
        default=str(DEFAULT_SCRATCH),
        metavar="DIR",
        help="where the host keeps scratch files (a real filesystem, not tmpfs)",
    )


def split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def selected_platforms(config: pytest.Config) -> list[str] | None:
    chosen = split_list(config.getoption("--triptych-platforms"))
    for name in chosen:
        if name not in KINDS:
            raise pytest.UsageError(
                f"--triptych-platforms: unknown platform {name!r}; "
                f"use a comma-separated list of {', '.join(KINDS)}"
            )
    return chosen or None


def selected_cases(config: pytest.Config, scenarios: list[Scenario]) -> set[str] | None:
    """The cases --triptych-cases names (a case's own name, or a swept case's series), each
    checked against the scenarios: an unknown name is a usage error, never an empty run."""
    chosen = split_list(config.getoption("--triptych-cases"))
    if not chosen:
        return None
    known = {c.name for s in scenarios for c in s.cases} | {
        c.series for s in scenarios for c in s.cases if c.series
    }
    for name in chosen:
        if name not in known:
            raise pytest.UsageError(
                f"--triptych-cases: no case {name!r} in the scenarios run; "
                f"use a comma-separated list of {', '.join(sorted(known))}"
            )
    return set(chosen)
