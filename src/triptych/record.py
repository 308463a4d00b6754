"""The stored record of one case on one platform: the one shape the runner writes, the journal
keeps, the report loads and the tests build.

It lives in pytest-benchmark's `extra_info` of each benchmark (and in each journal line), under
the key `triptych_api` = its version. Older versions are upgraded when read; newer ones refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from triptych import fields
from triptych.errors import TriptychError
from triptych.sample import MetaValue, Sample

# Platform metadata kept once per record, never copied into each sample (the guest's domain
# XML: a few KiB, the same for every round).
DOCUMENT_KEYS = frozenset({"domain_xml"})
RECORD_VERSION = 2
VERSION_KEY = "triptych_api"

# Version 1 records did not say which variant was the platform's own path, nor where its column
# goes: these are the facts triptych held then, used only to read those records.
_V1_PRIMARY = frozenset(
    {
        "default",
        "",
        "host-fs",
        "loopback",
        "bridge-ip",
        "host-net",
        "volume",
        "virtio-net",
        "virtio-disk",
    }
)
_V1_RANK = {"host": 0, "docker-host": 1, "docker-bridge": 2, "vm": 3}
_V1_HEADLINES = {"startup": "startup time to first exec"}


class RecordError(TriptychError):
    """A stored record that cannot be read (newer than this triptych, or damaged)."""


@dataclass(frozen=True)
class RoundsReached:
    """What adaptive rounds asked for and reached (the scenario's RoundPolicy is what it asks)."""

    min: int
    max: int
    target_ci: float | None
    achieved_ci: float
    converged: bool


@dataclass
class CaseRecord:
    """One scenario case measured on one platform through one variant."""

    scenario: str
    case: str
    workload: str
    family: str
    tool: str
    platform: str
    variant: str
    primary_variant: bool  # the platform's own path: its column is the platform's
    emulated: bool  # measured under software emulation (a VM under TCG)
    platform_rank: int  # where the platform's column goes: host, containers, VM
    params: dict[str, Any]
    duration: float
    rounds: int
    platform_metadata: dict[str, MetaValue]
    samples: list[Sample] = field(default_factory=list)
    primary_metric: str | None = None
    rounds_policy: RoundsReached | None = None
    pass_index: int = 0  # which pass over the cases this is (rounds are numbered across them)
    passes: int = 1
    profile: str = ""  # the guest profile when a run compares several (its own VM column)
    # pytest-benchmark's stats hold the primary metric per unit of work (per_unit.py), and
    # these are the rounds' wall times they replaced.
    stats_measure: str = "round wall time"
    # One discarded run before the rounds: kept for the curious, left out of every statistic.
    warmup_seconds: float = 0.0
    warmup_samples: list[Sample] = field(default_factory=list)
    round_seconds: list[float] = field(default_factory=list)
    # The case a concurrency sweep made this one from (its `connections` is in params).
    series: str = ""

    def to_extra_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            VERSION_KEY: RECORD_VERSION,
            "scenario": self.scenario,
            "case": self.case,
            "workload": self.workload,
            "family": self.family,
            "tool": self.tool,
            "platform": self.platform,
            "variant": self.variant,
            "primary_variant": self.primary_variant,
            "emulated": self.emulated,
            "platform_rank": self.platform_rank,
            "params": dict(self.params),
            "duration": self.duration,
            "rounds": self.rounds,
            "platform_metadata": dict(self.platform_metadata),
            "primary_metric": self.primary_metric,
            "pass_index": self.pass_index,
            "passes": self.passes,
            "profile": self.profile,
            "stats_measure": self.stats_measure,
            "round_seconds": list(self.round_seconds),
            "series": self.series,
            "warmup_seconds": self.warmup_seconds,
            "warmup_samples": [s.to_dict() for s in self.warmup_samples],
            "samples": [s.to_dict() for s in self.samples],
        }
        if self.rounds_policy is not None:
            info["rounds_policy"] = self.rounds_policy.__dict__.copy()
        return info

    @staticmethod
    def is_record(info: Mapping[str, Any]) -> bool:
        """Whether extra_info holds one of ours (a plain pytest-benchmark result does not)."""
        return VERSION_KEY in info

    @classmethod
    def from_extra_info(cls, info: Mapping[str, Any], where: str = "record") -> CaseRecord:
        """Read a record of any version up to ours; RecordError says what is wrong and the fix."""
        try:
            version = fields.whole(info, VERSION_KEY, high=10**6)
        except fields.FieldError:
            raise RecordError(
                f"{where}: no readable {VERSION_KEY}; not a triptych record"
            ) from None
        if version > RECORD_VERSION:
            raise RecordError(
                f"{where}: written by a newer triptych (result api {version}); "
                "upgrade triptych to read it"
            )
        try:
            return cls._read(_upgrade(dict(info), version))
        except fields.FieldError as e:
            raise RecordError(
                f"{where}: malformed record ({e}); the file was edited or damaged: "
                "remove it or restore it"
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise RecordError(
                f"{where}: malformed record ({e!r}); the file was edited or truncated: "
                "remove it or restore it"
            ) from None

    @classmethod
    def _read(cls, d: dict[str, Any]) -> CaseRecord:
        policy = d.get("rounds_policy")
        return cls(
            scenario=fields.text(d, "scenario"),
            case=fields.text(d, "case"),
            workload=fields.text(d, "workload"),
            family=fields.text(d, "family"),
            tool=fields.text(d, "tool", ""),
            platform=fields.text(d, "platform"),
            variant=fields.text(d, "variant", "default"),
            primary_variant=fields.flag(d, "primary_variant"),
            emulated=fields.flag(d, "emulated"),
            platform_rank=fields.whole(d, "platform_rank", high=1000),
            params=fields.table(d, "params", {}),
            duration=fields.real(d, "duration", 0.0),
            rounds=fields.whole(d, "rounds", 0, high=10**6),
            platform_metadata=fields.meta_table(d, "platform_metadata"),
            samples=[Sample.from_dict(s) for s in fields.items(d, "samples", [])],
            primary_metric=fields.optional_text(d, "primary_metric"),
            rounds_policy=_policy(policy) if policy else None,
            pass_index=fields.whole(d, "pass_index", 0, high=10**6),
            passes=fields.whole(d, "passes", 1, low=1, high=10**6),
            profile=fields.text(d, "profile", ""),
            stats_measure=fields.text(d, "stats_measure", "round wall time"),
            round_seconds=[
                fields.finite(x, "round_seconds") for x in fields.items(d, "round_seconds", [])
            ],
            series=fields.text(d, "series", ""),
            warmup_seconds=fields.real(d, "warmup_seconds", 0.0),
            warmup_samples=[Sample.from_dict(x) for x in fields.items(d, "warmup_samples", [])],
        )


def _policy(d: object) -> RoundsReached:
    if not isinstance(d, dict):
        raise fields.FieldError(f"rounds_policy: expected an object, got {type(d).__name__}")
    target = d.get("target_ci")
    return RoundsReached(
        min=fields.whole(d, "min", high=10**6),
        max=fields.whole(d, "max", high=10**6),
        target_ci=None if target is None else fields.real(d, "target_ci"),
        achieved_ci=fields.real(d, "achieved_ci"),
        converged=fields.flag(d, "converged"),
    )


def _upgrade(d: dict[str, Any], version: int) -> dict[str, Any]:
    """A record of an older version in the current shape."""
    if version < 2:
        samples = d.get("samples", [])
        meta = dict(d.get("platform_metadata", {}))
        first = samples[0].get("metadata", {}) if samples else {}
        d["primary_variant"] = d.get("variant", "default") in _V1_PRIMARY
        emulated = meta.get("emulated", first.get("acceleration") == "tcg")
        d["emulated"] = emulated is True  # a string "false" must not read as true
        d["platform_rank"] = _V1_RANK.get(str(d.get("platform")), 9)
        d.setdefault("primary_metric", _V1_HEADLINES.get(str(d.get("workload"))))
    return d
