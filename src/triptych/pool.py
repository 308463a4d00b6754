"""Platforms started once per run, on first use, restarted when they die, stopped at the end."""

from __future__ import annotations

import contextlib
import warnings

from triptych.platforms.base import Platform, PlatformSettings
from triptych.platforms.registry import make_platform
from triptych.platforms.settings import EngineSettings


class PlatformPool:
    """Starts each platform once, on first use, and stops all of them when closed."""

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self._stack = contextlib.ExitStack()
        self._started: dict[tuple[str, object], Platform] = {}
        self._failed: dict[tuple[str, object], Exception] = {}

    def get(self, name: str, engines: EngineSettings, instance: str = "") -> Platform:
        """The started platform `name` with these settings; started on first use. Instances
        (a VM per guest profile) run side by side; otherwise one instance per platform."""
        instance = instance or name
        key = (instance, engines.for_platform(name))
        if key in self._failed:
            raise self._failed[key]
        if key in self._started and not self._started[key].healthy():
            # Its container or guest died (or its daemon went away): the next cases get a
            # fresh one, or are skipped with the reason if it cannot start again.
            self._started.pop(key).stop()
            warnings.warn(
                f"platform {instance} died during the run; starting it again for the next case",
                stacklevel=2,
            )
        if key not in self._started:
            # A platform with other settings is stopped first: one instance per platform.
            # (Stopping is idempotent, so the exit stack may stop it again at the end.)
            for other in [k for k in self._started if k[0] == instance]:
                self._started.pop(other).stop()
            try:
                platform = make_platform(name, self.settings, engines)
                self._started[key] = self._stack.enter_context(platform)
                platform.tools = platform.tool_versions()
            except Exception as e:
                self._failed[key] = e
                raise
        return self._started[key]

    def close(self) -> None:
        self._started.clear()
        self._stack.close()
