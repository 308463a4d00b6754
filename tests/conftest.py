"""Shared fixtures for triptych's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def data() -> Path:
    """Real output captured from the tools on a Debian 12 machine."""
    return DATA
