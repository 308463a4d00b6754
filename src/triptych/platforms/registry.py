"""Which Platform class serves each platform name (the catalog's `runs_on`), and building one.

The classes are imported when a platform is made, not before: loading the plugin and a scenario
never imports the Docker SDK or libvirt.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from triptych.errors import PlatformUnavailable
from triptych.platforms.base import Platform, PlatformSettings
from triptych.platforms.catalog import KINDS
from triptych.platforms.settings import EngineSettings


def _resolve(target: str) -> Any:  # noqa: ANN401 - a class or a function, by its "module:name"
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def platform_class(name: str) -> type[Platform]:
    kind = KINDS.get(name)
    if kind is None:
        raise PlatformUnavailable(f"platform {name} is not implemented in this version of triptych")
    cls: type[Platform] = _resolve(kind.runs_on)
    return cls


def make_platform(name: str, settings: PlatformSettings, engines: EngineSettings) -> Platform:
    return platform_class(name).create(settings, engines)


def cleaners() -> list[Callable[[str | None, Path], list[str]]]:
    """What removes each engine's leftovers of dead runs (each engine once)."""
    return [_resolve(c) for c in dict.fromkeys(k.cleaner for k in KINDS.values())]
