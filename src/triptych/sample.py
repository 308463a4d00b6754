"""The one result record: every workload returns a list of Samples."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

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
        return cls(
            metric=str(d["metric"]),
            value=float(d["value"]),
            unit=str(d["unit"]),
            higher_is_better=bool(d["higher_is_better"]),
            platform=str(d.get("platform", "")),
            workload=str(d.get("workload", "")),
            scenario=str(d.get("scenario", "")),
            metadata=dict(d.get("metadata", {})),
            timestamp=float(d.get("timestamp", 0.0)),
        )
