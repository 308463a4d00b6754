"""The pytest plugin: scenario x platform x variant parametrization, platforms, machine info.

`pytest bench/ --benchmark-save=NAME --triptych-scenarios=scenarios/quick.toml` collects one test
(a Trial) per case, platform and variant; the test requests the `triptych_trial`,
`triptych_platform`, `triptych_journal` and `benchmark` fixtures and calls
`triptych.runner.run_trial`.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from triptych import bench_adapter, environment, machine_lock
from triptych.errors import JournalError, PlatformUnavailable, TriptychError
from triptych.journal import Journal
from triptych.platforms.catalog import KINDS, PLATFORM_NAMES
from triptych.platforms.host_sweep import DEFAULT_SCRATCH
from triptych.platforms.registry import PlatformSettings
from triptych.pool import PlatformPool
from triptych.runner import Trial
from triptych.scenario import Scenario, load_scenario
from triptych.session import new_session_id
from triptych.workloads.registry import SERVER_PORTS, WORKLOADS

SCENARIOS_KEY = pytest.StashKey[list[Scenario]]()
SESSION_KEY = pytest.StashKey[str]()
SIGNALS_KEY = pytest.StashKey[dict[signal.Signals, Any]]()
REQUIRE_ENV = "TRIPTYCH_REQUIRE_PLATFORMS"
# A disk-backed directory (/tmp may be tmpfs, where O_DIRECT fails); each session makes its own
# private subdirectory with mkdtemp, so the shared parent is not a race.
DEFAULT_SCENARIO = "scenarios/quick.toml"


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


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _selected_platforms(config: pytest.Config) -> list[str] | None:
    chosen = _split(config.getoption("--triptych-platforms"))
    for name in chosen:
        if name not in PLATFORM_NAMES:
            raise pytest.UsageError(
                f"--triptych-platforms: unknown platform {name!r}; "
                f"use a comma-separated list of {', '.join(PLATFORM_NAMES)}"
            )
    return chosen or None


def _load(files: list[str]) -> list[Scenario]:
    return [load_scenario(Path(f)) for f in files]


def _scenarios(config: pytest.Config) -> list[Scenario]:
    """The scenarios named on the command line (loaded at configure) or the default one."""
    if SCENARIOS_KEY not in config.stash:
        try:
            config.stash[SCENARIOS_KEY] = _load([DEFAULT_SCENARIO])
        except TriptychError as e:
            pytest.fail(str(e), pytrace=False)
    return config.stash[SCENARIOS_KEY]


def trials(config: pytest.Config) -> list[Trial]:
    """Every (case, platform, variant) the selected scenarios and platforms ask for."""
    selected = _selected_platforms(config)
    found = []
    for scenario in _scenarios(config):
        for index in range(scenario.passes):  # pass by pass over all the cases
            for case in scenario.cases:
                target = WORKLOADS[case.workload].target
                for name in case.platforms:
                    if selected is not None and name not in selected:
                        continue
                    profiles = case.engines.vm_profiles if name == "vm" else ()
                    found += [
                        Trial(case, name, v, index, profile)
                        for profile in profiles or ("",)
                        for v in KINDS[name].variants(target)
                    ]
    return found


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SESSION_KEY] = new_session_id()
    # SIGTERM (a CI runner's timeout, `kill`) would end Python without any cleanup, and a
    # SIGINT ignored by a parent shell would be lost: both become KeyboardInterrupt, so
    # platforms are stopped, servers killed and the journal closed as partial.
    if threading.current_thread() is threading.main_thread():
        config.stash[SIGNALS_KEY] = {
            s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)
        }
    # The plugin is active in every pytest run of the environment: only scenarios the user
    # named are read up front (so a mistake stops the run before anything starts).
    named = _split(config.getoption("--triptych-scenarios"))
    if named:
        try:
            config.stash[SCENARIOS_KEY] = _load(named)
        except TriptychError as e:
            raise pytest.UsageError(str(e)) from None
    _selected_platforms(config)


ORDER_KEY = pytest.StashKey[dict[str, Any]]()


def _trial_of(item: pytest.Item) -> object:
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
        trial = _trial_of(item)
        if isinstance(trial, Trial):
            key = f"{trial.case.scenario}/{trial.case.name}/{trial.pass_index}"
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


@pytest.fixture(scope="session")
def triptych_session(request: pytest.FixtureRequest) -> str:
    """The id that labels everything this session creates."""
    return request.config.stash[SESSION_KEY]


@pytest.fixture(scope="session")
def triptych_pool(request: pytest.FixtureRequest, triptych_session: str) -> Iterator[PlatformPool]:
    """Platforms started once per session, on first use, and stopped at its end."""
    settings = PlatformSettings(
        session=triptych_session,
        scratch_root=Path(request.config.getoption("--triptych-scratch")),
        server_ports=SERVER_PORTS,
    )
    pool = PlatformPool(settings)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def triptych_platform(
    request: pytest.FixtureRequest, triptych_trial: Trial, triptych_pool: PlatformPool
) -> Any:  # noqa: ANN401
    """The started platform of this trial; skipped (or failed, if required) when unavailable."""
    name = triptych_trial.platform_name
    try:
        return triptych_pool.get(name, triptych_trial.engines, triptych_trial.instance)
    except PlatformUnavailable as e:
        reason = str(e)
    # Outside the except block: the user sees one line, not a chain of exceptions.
    required = _split(request.config.getoption("--triptych-require-platforms"))
    if name in required or "all" in required:
        pytest.fail(f"required platform {name} is unavailable: {reason}", pytrace=False)
    pytest.skip(f"platform {name} unavailable: {reason}")


JOURNAL_KEY = pytest.StashKey[Journal]()
MACHINE_KEY = pytest.StashKey[dict[str, Any]]()


def _machine(config: pytest.Config) -> dict[str, Any]:
    """The environment, collected once per run (it runs every tool for its version) for both
    the journal and pytest-benchmark's machine_info."""
    if MACHINE_KEY not in config.stash:
        config.stash[MACHINE_KEY] = environment.collect()
    return config.stash[MACHINE_KEY]


def _journal_dir(config: pytest.Config) -> Path:
    """Beside the saved runs: a run saved elsewhere (--benchmark-storage) journals there too."""
    given = config.getoption("--triptych-journal")
    if given:
        return Path(given)
    storage = str(config.getoption("benchmark_storage", None) or "file://./.benchmarks")
    if storage.startswith("file://"):
        return Path(storage.removeprefix("file://")) / "journal"
    return Path(storage) / "journal" if "://" not in storage else Path(".benchmarks/journal")


@pytest.fixture(scope="session")
def triptych_journal(request: pytest.FixtureRequest, triptych_session: str) -> Journal:
    """The session's journal, opened with the first case; closed at session end."""
    config = request.config
    if JOURNAL_KEY not in config.stash:
        path = _journal_dir(config) / f"{triptych_session}.jsonl"
        try:
            config.stash[JOURNAL_KEY] = Journal(path, triptych_session, _machine(config))
        except TriptychError as e:
            pytest.exit(str(e), returncode=pytest.ExitCode.USAGE_ERROR)
    return config.stash[JOURNAL_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A case that fails for a reason the suite understands says so in one line, no traceback
    (a traceback is kept for what the suite did not expect: its own bugs)."""
    report = yield
    if (
        call.excinfo is not None
        and call.excinfo.errisinstance(TriptychError)
        and "triptych_trial" in getattr(item, "fixturenames", ())
    ):
        report.longrepr = f"{call.excinfo.typename}: {call.excinfo.value}"
        if call.excinfo.errisinstance(JournalError):
            # Nothing more could be kept: stop after this case (teardown still runs).
            item.session.shouldstop = f"the run journal cannot be written: {call.excinfo.value}"
    return report


LOCK_KEY = pytest.StashKey[int]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run that measures holds the machine-wide lock from here to its end."""
    config = session.config
    if not any(isinstance(_trial_of(item), Trial) for item in session.items):
        return
    wait = bool(config.getoption("--triptych-wait"))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    say = reporter.write_line if reporter is not None else print
    try:
        config.stash[LOCK_KEY] = machine_lock.acquire_or_wait(config.stash[SESSION_KEY], wait, say)
    except TriptychError as e:
        # Refused before any case: one line, and nothing for pytest-benchmark to save.
        bench_adapter.save_nothing(config)
        raise pytest.UsageError(str(e)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    for sig, handler in config.stash.get(SIGNALS_KEY, {}).items():
        signal.signal(sig, handler)
    if LOCK_KEY in config.stash:
        said = machine_lock.release(config.stash[LOCK_KEY])
        if said:
            print(f"triptych: warning: {said}", file=sys.stderr)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """pytest-benchmark writes its JSON at the very end, and a full disk then ends the run in a
    traceback beside a truncated file. Guard its save: one line, no half-written JSON left, a
    failed exit status; the journal already holds every finished case."""
    found = bench_adapter.storage(session.config)
    if found is None:
        return
    save, folder, store = found

    def guarded_save(output_json: Any, name: str) -> None:  # noqa: ANN401
        before = set(folder.rglob("*.json"))
        try:
            save(output_json, name)
        except OSError as e:
            for partial in set(folder.rglob("*.json")) - before:
                partial.unlink(missing_ok=True)
            journal = session.config.stash.get(JOURNAL_KEY, None)
            kept = f"; every finished case is in {journal.path}" if journal is not None else ""
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            line = f"triptych: cannot save the run in {folder} ({e.strerror}){kept}"
            if reporter is not None:
                reporter.write_line(line, red=True)
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    bench_adapter.replace_save(store, guarded_save)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    journal = session.config.stash.get(JOURNAL_KEY, None)
    if journal is not None:
        # Interrupted or not, the journal holds every finished case; only a run that got to
        # its natural end is marked complete.
        journal.close(exitstatus != pytest.ExitCode.INTERRUPTED, int(exitstatus))


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:  # noqa: ANN401
    """The verdicts of this run, in the report's words, after pytest-benchmark's table."""
    journal = config.stash.get(JOURNAL_KEY, None)
    if journal is None or not journal.path.exists():
        return
    from triptych.report.terminal import summary_lines  # noqa: PLC0415 - pandas, only here

    try:
        lines = summary_lines(journal.path)
    except TriptychError as e:
        lines = [f"no summary: {e}"]
    if lines:
        terminalreporter.section("triptych summary")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    """Record the environment beside every figure (pytest-benchmark hook)."""
    order = config.stash.get(ORDER_KEY, {})
    machine_info["triptych"] = {
        "session": config.stash[SESSION_KEY],
        "order_mode": order.get("mode", ""),
        "order_seed": order.get("seed", ""),
        "order": order.get("order", []),
        **_machine(config),
    }
