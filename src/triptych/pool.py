"""Platforms started once per run, on first use, restarted when they die, stopped at the end."""

from __future__ import annotations

import warnings

from triptych.platforms.base import Platform, PlatformSettings
from triptych.platforms.registry import make_platform
from triptych.platforms.settings import EngineSettings


class PlatformPool:
    """Starts each platform once, on first use, and stops all of them when closed."""

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self._started: dict[tuple[str, object, int], Platform] = {}
        self._failed: dict[tuple[str, object, int], Exception] = {}

    def get(
        self, name: str, engines: EngineSettings, instance: str = "", setup: int = 0
    ) -> Platform:
        """The started platform `name` with these settings; started on first use. Instances
        (a VM per guest profile) run side by side; otherwise one instance per platform. A new
        set-up gets a fresh platform: its earlier set-up is stopped first."""
        instance = instance or name
        key = (instance, engines.for_platform(name), setup)
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
            # A platform with other settings (or of an earlier set-up) is stopped first: one
            # instance per platform at a time.
            for other in [k for k in self._started if k[0] == instance]:
                self._started.pop(other).stop()
            try:
                platform = make_platform(name, self.settings, engines)
                self._started[key] = platform.__enter__()  # stopped by itself if start fails
                platform.tools = platform.tool_versions()
            except Exception as e:
                self._failed[key] = e
                raise
        return self._started[key]

    def close(self) -> None:
        """Stop every platform still started, the newest first, each once (one that fails to
        stop does not keep the others running)."""
        failed: list[Exception] = []
        while self._started:
            _, platform = self._started.popitem()
            try:
                platform.stop()
            except Exception as e:  # raised below, after the others stopped
                failed.append(e)
        if failed:
            raise failed[0]
