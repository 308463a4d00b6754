"""Which tests a run collects (one per scenario case, platform, variant and pass) and in what
order: platforms shuffled within each case, the order and its seed recorded."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from triptych.cases import Scenario
from triptych.errors import TriptychError
from triptych.platforms.catalog import KINDS
from triptych.plugin.keys import (
    ORDER_KEY,
    SCENARIOS_KEY,
)
from triptych.plugin.options import selected_cases, selected_platforms
from triptych.runner import Trial
from triptych.scenario import load_scenario
from triptych.workloads.registry import WORKLOADS

DEFAULT_SCENARIO = "scenarios/quick.toml"


def load_scenarios(files: list[str]) -> list[Scenario]:
    return [load_scenario(Path(f)) for f in files]


def named_scenarios(config: pytest.Config) -> list[Scenario]:
    """The scenarios named on the command line (loaded at configure) or the default one."""
    if SCENARIOS_KEY not in config.stash:
        try:
            config.stash[SCENARIOS_KEY] = load_scenarios([DEFAULT_SCENARIO])
        except TriptychError as e:
            pytest.fail(str(e), pytrace=False)
    return config.stash[SCENARIOS_KEY]


def trials(config: pytest.Config) -> list[Trial]:
    """Every (case, platform, variant) the selected scenarios and platforms ask for."""
    selected = selected_platforms(config)
    scenarios = named_scenarios(config)
    cases = selected_cases(config, scenarios)
    found = []
    for scenario in scenarios:
        # Set-up by set-up, pass by pass, over all the cases.
        for setup in range(scenario.max_setups):
            for index in range(scenario.passes):
                found += _cases_of_pass(scenario, index, setup, selected, cases)
    return found


def _cases_of_pass(
    scenario: Scenario,
    index: int,
    setup: int,
    selected: list[str] | None,
    cases: set[str] | None,
) -> list[Trial]:
    found = []
    for case in scenario.cases:
        if cases is not None and not ({case.name, case.series} & cases):
            continue
        target = WORKLOADS[case.workload].target
        for name in case.platforms:
            if selected is not None and name not in selected:
                continue
            found += [
                Trial(case, name, v, index, profile, setup)
                for profile in case.engines.side_by_side(name) or ("",)
                for v in KINDS[name].variants(target)
            ]
    return found


def trial_of(item: pytest.Item) -> object:
    """The Trial a collected test measures (None for tests that measure nothing)."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("triptych_trial") if callspec is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Shuffle the platforms within each case (cases keep their order); record what was done."""
    seed = config.getoption("--triptych-seed")
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    mode = config.getoption("--triptych-order")
    rng = random.Random(seed)  # noqa: S311 - an experiment's order, not a secret
    by_case: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        trial = trial_of(item)
        if isinstance(trial, Trial):
            key = f"{trial.case.scenario}/{trial.case.name}/{trial.pass_index}/{trial.setup}"
            by_case.setdefault(key, []).append(i)
    if mode == "shuffle":
        for positions in by_case.values():
            chosen = [items[i] for i in positions]
            rng.shuffle(chosen)
            for i, item in zip(positions, chosen, strict=True):
                items[i] = item
    order = [item.nodeid.split("[", 1)[-1].rstrip("]") for item in items if "[" in item.nodeid]
    config.stash[ORDER_KEY] = {"mode": mode, "seed": seed, "order": order}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "triptych_trial" in metafunc.fixturenames:
        found = trials(metafunc.config)
        metafunc.parametrize("triptych_trial", found, ids=[t.id for t in found])
