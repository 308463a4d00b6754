"""The triptych summary that ends a run's terminal output, in the report's words."""

from __future__ import annotations

from typing import Any

import pytest

from triptych.errors import TriptychError
from triptych.plugin.keys import JOURNAL_KEY, SESSION_KEY
from triptych.plugin.session import storage_dir


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:  # noqa: ANN401
    """The verdicts of this run, in the report's words, after pytest-benchmark's table."""
    journal = config.stash.get(JOURNAL_KEY, None)
    if journal is None or not journal.path.exists():
        return
    from triptych.report.terminal import summary_lines  # noqa: PLC0415 - pandas, only here

    try:
        lines = summary_lines(journal.path, storage_dir(config), config.stash.get(SESSION_KEY, ""))
    except TriptychError as e:
        lines = [f"no summary: {e}"]
    if lines:
        terminalreporter.section("triptych summary")
        for line in lines:
            terminalreporter.write_line(line)
