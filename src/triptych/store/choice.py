"""Which store a command uses, if any: named by --store or TRIPTYCH_STORE (no PostgreSQL
driver needed to decide: `triptych report` on files never loads it)."""

from __future__ import annotations

import os

ENV = "TRIPTYCH_STORE"


def store_url(given: str | None, files_named: bool = False) -> str | None:
    """The store named by --store, else by TRIPTYCH_STORE unless the command names files of
    runs (those are what it reads); None: files only."""
    if given is not None:
        return given or None
    return None if files_named else os.environ.get(ENV) or None
