"""The one result record: every workload returns a list of Samples."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
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
    platform: str = ""
    workload: str = ""
    scenario: str = ""
    metadata: Mapping[str, MetaValue] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)

    def with_context(
        self, *, platform: str, workload: str, scenario: str, metadata: Mapping[str, MetaValue]
    ) -> Sample:
        """The same sample labelled with where it was taken; the sample's own metadata wins."""
        return replace(
            self,
            platform=platform,
            workload=workload,
            scenario=scenario,
            metadata={**metadata, **self.metadata},
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metadata"] = dict(self.metadata)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sample:
        """A stored sample, every field type-checked (FieldError names the one that is not)."""
        return cls(
            metric=fields.text(d, "metric"),
            value=fields.real(d, "value"),
            unit=fields.text(d, "unit"),
            higher_is_better=fields.flag(d, "higher_is_better"),
            platform=fields.text(d, "platform", ""),
            workload=fields.text(d, "workload", ""),
            scenario=fields.text(d, "scenario", ""),
            metadata=fields.meta_table(d, "metadata"),
            timestamp=fields.real(d, "timestamp", 0.0),
        )
