"""Saying what was swept and what was left: the words every platform's cleanup shares.

The sweeps themselves live beside the code that marks what they remove
(triptych.platforms.docker_sweep, triptych.platforms.libvirt_sweep).
"""

from __future__ import annotations

import warnings


class LeftoversRemoved(UserWarning):
    """A run removed what earlier runs that died had left behind."""


def report_swept(removed: list[str]) -> None:
    if removed:
        warnings.warn(
            LeftoversRemoved(
                f"removed {len(removed)} resource(s) left by runs that died: {', '.join(removed)}"
            ),
            stacklevel=2,
        )


def report_left(platform: str, reason: str, left: list[str]) -> None:
    """Say what a platform could not remove, and who will."""
    if left:
        warnings.warn(
            f"{platform}: {reason}, so {' and '.join(left)} could not be removed; "
            "the next run (or `triptych clean`) removes them",
            stacklevel=3,
        )
