"""One measured value: every workload returns a list of Samples, one round's figures.

Where it was taken (platform, case, round) is not repeated here: the record holds it once
(record.py: a CaseRecord's rounds hold its samples).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from triptych import fields

MetaValue = str | int | float | bool


@dataclass(frozen=True)
class Sample:
    """One measured value of one metric, with what it takes to compare it honestly."""

    metric: str
    value: float
    unit: str
    higher_is_better: bool
    metadata: Mapping[str, MetaValue] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metadata"] = dict(self.metadata)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sample:
        """A stored sample, every field type-checked (FieldError names the one that is not);
        the context older records copied into it (platform, workload, scenario) is ignored."""
        got = plain_fields(d) if type(d) is dict else None  # the common case (1000s a run)
        if got is not None:
            metric, value, unit, hib, when = got
            return cls(metric, value, unit, hib, fields.meta_table(d, "metadata"), when)
        # Anything else, field by field: the same rules, and the error that names the field.
        return cls(
            metric=fields.text(d, "metric"),
            value=fields.real(d, "value"),
            unit=fields.text(d, "unit"),
            higher_is_better=fields.flag(d, "higher_is_better"),
            metadata=fields.meta_table(d, "metadata"),
            timestamp=fields.real(d, "timestamp", 0.0),
        )


def plain_fields(d: dict[str, Any]) -> tuple[str, float, str, bool, float] | None:
    """A stored sample's metric, value, unit, direction and time, where each is of its exact
    type and in range (checked in one expression); None where any is not (from_dict reads it
    field by field, and says which is wrong)."""
    metric, value, unit = d.get("metric"), d.get("value"), d.get("unit")
    hib, when = d.get("higher_is_better"), d.get("timestamp", 0.0)
    if (
        type(metric) is str
        and type(unit) is str
        and type(hib) is bool
        and type(value) is float
        and -fields.MAX_VALUE <= value <= fields.MAX_VALUE  # False for NaN
        and type(when) is float
        and -fields.MAX_VALUE <= when <= fields.MAX_VALUE
    ):
        return metric, value, unit, hib, when
    return None
