"""Typed workload parameters: a default and the range a tool accepts, checked before running."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")


def param(
    default: Any,  # noqa: ANN401 - a field default of any parameter type
    *,
    low: float | None = None,
    high: float | None = None,
    choices: Sequence[str] | None = None,
    pattern: re.Pattern[str] | None = None,
    hint: str = "",
) -> Any:  # noqa: ANN401
    """A dataclass field whose bounds the scenario loader enforces."""
    return dataclasses.field(
        default=default,
        metadata={
            "low": low,
            "high": high,
            "choices": tuple(choices) if choices else None,
            "pattern": pattern,
            "hint": hint,
        },
    )


def size_param(default: str, hint: str) -> Any:  # noqa: ANN401
    """A byte size the way fio and stress-ng write it: 256M, 4k, 1G."""
    return param(default, pattern=SIZE, hint=hint)
