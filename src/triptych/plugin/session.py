"""The run session: its id and signals, its platforms, its journal, the machine lock, the guard
round pytest-benchmark's save, and the machine record."""

from __future__ import annotations

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
from triptych.platforms.base import PlatformSettings
from triptych.plugin.collection import load_scenarios, trial_of
from triptych.plugin.keys import (
    JOURNAL_KEY,
    LOCK_KEY,
    MACHINE_KEY,
    ORDER_KEY,
    SCENARIOS_KEY,
    SESSION_KEY,
    SIGNALS_KEY,
)
from triptych.plugin.options import selected_cases, selected_platforms, split_list
from triptych.plugin.sequential import SetupBook
from triptych.pool import PlatformPool
from triptych.results.digest import SELECTED_CASES
from triptych.runner import Trial
from triptych.session import new_session_id
from triptych.workloads.registry import SERVER_PORTS, WORKLOADS


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
    named = split_list(config.getoption("--triptych-scenarios"))
    if named:
        try:
            config.stash[SCENARIOS_KEY] = load_scenarios(named)
        except TriptychError as e:
            raise pytest.UsageError(str(e)) from None
        selected_cases(config, config.stash[SCENARIOS_KEY])
    selected_platforms(config)


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


@pytest.fixture(scope="session")
def triptych_setups() -> SetupBook:
    """The run's finished trials, for its sequential set-ups (plugin/sequential.py)."""
    return SetupBook()


@pytest.fixture
def triptych_platform(
    request: pytest.FixtureRequest,
    triptych_trial: Trial,
    triptych_pool: PlatformPool,
    triptych_setups: SetupBook,
) -> Any:  # noqa: ANN401
    """The started platform of this trial; skipped (or failed, if required) when unavailable,
    and skipped before it starts when the trial's sequential set-up is not needed."""
    not_needed = triptych_setups.why_skipped(triptych_trial)
    if not_needed is not None:
        pytest.skip(not_needed)
    name = triptych_trial.platform_name
    try:
        platform = triptych_pool.get(
            name, triptych_trial.engines, triptych_trial.instance, triptych_trial.setup
        )
    except PlatformUnavailable as e:
        reason = str(e)
    else:
        target = WORKLOADS[triptych_trial.case.workload].target
        why = platform.cannot_run(target, triptych_trial.variant)
        if why is None:
            return platform
        pytest.skip(f"{triptych_trial.instance} cannot run {target} workloads here: {why}")
    # Outside the except block: the user sees one line, not a chain of exceptions.
    required = split_list(request.config.getoption("--triptych-require-platforms"))
    if name in required or "all" in required:
        pytest.fail(f"required platform {name} is unavailable: {reason}", pytrace=False)
    pytest.skip(f"platform {name} unavailable: {reason}")


def _machine(config: pytest.Config) -> dict[str, Any]:
    """The environment, collected once per run (it runs every tool for its version) for both
    the journal and pytest-benchmark's machine_info."""
    if MACHINE_KEY not in config.stash:
        config.stash[MACHINE_KEY] = environment.collect()
    return config.stash[MACHINE_KEY]


def storage_dir(config: pytest.Config) -> Path | None:
    """Where pytest-benchmark saves runs (--benchmark-storage), if in files."""
    storage = str(config.getoption("benchmark_storage", None) or "file://./.benchmarks")
    if storage.startswith("file://"):
        return Path(storage.removeprefix("file://"))
    return Path(storage) if "://" not in storage else None


def _journal_dir(config: pytest.Config) -> Path:
    """Beside the saved runs: a run saved elsewhere (--benchmark-storage) journals there too."""
    given = config.getoption("--triptych-journal")
    if given:
        return Path(given)
    storage = storage_dir(config)
    return storage / "journal" if storage is not None else Path(".benchmarks/journal")


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


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run that measures holds the machine-wide lock from here to its end."""
    config = session.config
    if not any(isinstance(trial_of(item), Trial) for item in session.items):
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


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """A run whose every case was skipped (no platform could start) or failed says so in one
    line; pytest-benchmark's "Not saving anything" warning, at session finish, would end it in
    a traceback (an error under `filterwarnings = error`)."""
    result = yield
    if LOCK_KEY in session.config.stash and bench_adapter.nothing_measured(session.config):
        bench_adapter.save_nothing(session.config)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("triptych: nothing measured: no case has figures to save")
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    journal = session.config.stash.get(JOURNAL_KEY, None)
    if journal is not None:
        # Interrupted or not, the journal holds every finished case; only a run that got to
        # its natural end is marked complete.
        journal.close(exitstatus != pytest.ExitCode.INTERRUPTED, int(exitstatus))


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
        # The cases --triptych-cases limited the run to ([]: every case of its scenarios).
        SELECTED_CASES: sorted(split_list(config.getoption("--triptych-cases"))),
        **_machine(config),
    }
