"""Access to the real engines for tests: skip when absent, fail when CI requires them."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(platform: str, reason: str) -> NoReturn:
    """Skip, or fail when TRIPTYCH_REQUIRE_PLATFORMS names this platform (or 'all')."""
    required = [p.strip() for p in os.environ.get("TRIPTYCH_REQUIRE_PLATFORMS", "").split(",")]
    if platform in required or "all" in required:
        pytest.fail(f"{platform} is required here but unavailable: {reason}", pytrace=False)
    pytest.skip(f"{platform} unavailable: {reason}")
