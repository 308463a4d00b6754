"""The values the plugin's parts share within one pytest run (pytest's stash keys)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from triptych.cases import Scenario
from triptych.journal import Journal

SCENARIOS_KEY = pytest.StashKey[list[Scenario]]()
SESSION_KEY = pytest.StashKey[str]()
SIGNALS_KEY = pytest.StashKey[dict[signal.Signals, Any]]()
ORDER_KEY = pytest.StashKey[dict[str, Any]]()
JOURNAL_KEY = pytest.StashKey[Journal]()
MACHINE_KEY = pytest.StashKey[dict[str, Any]]()
LOCK_KEY = pytest.StashKey[int]()
