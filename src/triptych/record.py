"""The stored record of one case on one platform: the one shape the runner writes, the journal
keeps, the report loads and the tests build.

A run holds CaseRecords; a CaseRecord holds its Rounds, each with the facts of that round as
typed fields (its number, pass, set-up, the machine's foreign CPU, where the client ran) and the
round's Samples; the platform's facts are kept once per record. It lives in pytest-benchmark's
`extra_info` of each benchmark (and in each journal line), under the key `triptych_api` = its
version. Older versions are upgraded when read; newer ones refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from triptych import fields
from triptych.errors import TriptychError
from triptych.host_cpu import HostCpu
from triptych.sample import MetaValue, Sample

# Platform metadata kept once per record, never copied into each sample (the guest's domain
# XML: a few KiB, the same for every round).
DOCUMENT_KEYS = frozenset({"domain_xml"})
# The platform metadata key holding what the report says the platform's column is (the
# catalogue's description, saved with every record so the report renders saved data only).
DESCRIPTION_KEY = "description"
RECORD_VERSION = 3
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


PLACEMENTS = ("", "apart", "shared")  # "": the workload has no client of its own


@dataclass(frozen=True)
class Round:
    """One round of a case: its figures and what is known about the moment they were taken."""

    number: int  # numbered across the case's passes and set-ups
    samples: tuple[Sample, ...]
    pass_index: int = 0
    setup: int = 0  # which set-up (a fresh container, guest, file and servers) it ran on
    foreign_cpu: float | None = None  # the machine's CPU share used by others (None: unknown)
    load1: float | None = None
    client_placement: str = ""  # the load generator apart from the server, or sharing CPUs
    host_cpu: HostCpu | None = None  # the host's CPU the round cost, by part (None: unknown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "pass_index": self.pass_index,
            "setup": self.setup,
            "foreign_cpu": self.foreign_cpu,
            "load1": self.load1,
            "client_placement": self.client_placement,
            "host_cpu": None if self.host_cpu is None else self.host_cpu.to_dict(),
            "samples": [s.to_dict() for s in self.samples],
        }

    @classmethod
    def from_dict(cls, d: object) -> Round:
        if not isinstance(d, dict):
            raise fields.FieldError(f"rounds: expected an object, got {type(d).__name__}")
        placement = fields.text(d, "client_placement", "")
        if placement not in PLACEMENTS:
            raise fields.FieldError(f"client_placement: {placement!r} is not one of {PLACEMENTS}")
        return cls(
            number=fields.whole(d, "number", high=10**6),
            samples=tuple(Sample.from_dict(s) for s in fields.items(d, "samples", [])),
            pass_index=fields.whole(d, "pass_index", 0, high=10**6),
            setup=fields.whole(d, "setup", 0, high=10**6),
            foreign_cpu=_optional_real(d, "foreign_cpu"),
            load1=_optional_real(d, "load1"),
            client_placement=placement,
            host_cpu=None if d.get("host_cpu") is None else HostCpu.from_dict(d["host_cpu"]),
        )


def _optional_real(d: Mapping[str, Any], key: str) -> float | None:
    return None if d.get(key) is None else fields.real(d, key)


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
    measured: list[Round] = field(default_factory=list)
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
    # The case a sweep made this one from, the parameter it sweeps and this case's value of it.
    series: str = ""
    sweep_axis: str = ""
    sweep_value: float | None = None
    setups: int = 1
    # How often the case's sequential set-ups could stop (verdict/sequential.py): its intervals
    # and tests are widened for that many looks. 1: a fixed number of set-ups.
    looks: int = 1

    @property
    def samples(self) -> list[Sample]:
        """Every round's samples, in round order."""
        return [s for r in self.measured for s in r.samples]

    def values(self, metric: str) -> list[float]:
        """The metric's values, in round order."""
        return [s.value for s in self.samples if s.metric == metric]

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
            "sweep_axis": self.sweep_axis,
            "sweep_value": self.sweep_value,
            "setups": self.setups,
            "looks": self.looks,
            "warmup_seconds": self.warmup_seconds,
            "warmup_samples": [s.to_dict() for s in self.warmup_samples],
            "measured": [r.to_dict() for r in self.measured],
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
            measured=[Round.from_dict(r) for r in fields.items(d, "measured", [])],
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
            sweep_axis=fields.text(d, "sweep_axis", ""),
            sweep_value=_optional_real(d, "sweep_value"),
            setups=fields.whole(d, "setups", 1, low=1, high=10**6),
            looks=fields.whole(d, "looks", 1, low=1, high=1000),
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
        _v1_facts(d)
    if version < 3:
        _v2_rounds(d)
    return d


def _v1_facts(d: dict[str, Any]) -> None:
    """What a version 1 record did not say, as triptych then held it (see _V1_PRIMARY)."""
    samples = d.get("samples", [])
    meta = dict(d.get("platform_metadata", {}))
    first = samples[0].get("metadata", {}) if samples else {}
    d["primary_variant"] = d.get("variant", "default") in _V1_PRIMARY
    emulated = meta.get("emulated", first.get("acceleration") == "tcg")
    d["emulated"] = emulated is True  # a string "false" must not read as true
    d["platform_rank"] = _V1_RANK.get(str(d.get("platform")), 9)
    d.setdefault("primary_metric", _V1_HEADLINES.get(str(d.get("workload"))))


@dataclass(frozen=True)
class Parts:
    """A record taken apart for a reader of its rounds alone (the digest's, results/
    plain_rounds.py): its head, in the current version with no rounds (read it with
    from_extra_info), and its rounds as stored: version 3's `measured`, or an older version's
    flat `samples`, each saying its round in its metadata (`flat`)."""

    head: dict[str, Any]
    rounds: object
    flat: bool


def parts_of(info: Mapping[str, Any]) -> Parts | None:
    """The record's parts, or None where it is not a version this code reads or not taken
    apart cleanly (the caller reads it whole with from_extra_info, which says what is wrong)."""
    version = info.get(VERSION_KEY)
    if type(version) is not int or not 1 <= version <= RECORD_VERSION:
        return None
    head = dict(info)
    try:
        if version < 2:
            _v1_facts(head)  # reads the first sample: before the samples are taken out
        if version < 3:
            rounds, head["samples"] = head.get("samples", []), []
            _v2_rounds(head)  # no samples: the record's own facts (its sweep), no rounds
        else:
            rounds = head.get("measured", [])
        head["measured"] = []
    except (fields.FieldError, KeyError, TypeError, ValueError, AttributeError):
        return None
    head[VERSION_KEY] = RECORD_VERSION
    return Parts(head, rounds, version < 3)


# What a version 2 record copied into every sample's metadata besides the platform's own
# metadata: facts of the case or of the round, kept once in version 3.
_V2_CONTEXT = frozenset(
    {"variant", "tool", "family", "case", "round", "foreign_cpu", "load1", "client_placement"}
)
_V2_SWEPT = "connections"  # the one parameter version 2 swept


def _v2_rounds(d: dict[str, Any]) -> None:
    """A version 2 record's flat samples, grouped into its rounds (each sample said its round
    in its metadata) with the round's facts lifted out of the samples."""
    pass_index = d.get("pass_index", 0)
    copied = _V2_CONTEXT | set(d.get("platform_metadata") or {})
    rounds: dict[object, dict[str, Any]] = {}
    for s in fields.items(d, "samples", []):
        meta = s.get("metadata", {}) if isinstance(s, dict) else None
        if not isinstance(meta, dict):
            raise fields.FieldError(f"samples: expected objects with metadata, got {s!r:.40}")
        number = meta.get("round", 0)
        r = rounds.get(number)
        if r is None:  # the round's first sample (not a dict made per sample: 1000s per run)
            placement = meta.get("client_placement", "")
            r = rounds[number] = {
                "number": number,
                "pass_index": pass_index,
                "foreign_cpu": meta.get("foreign_cpu"),
                "load1": meta.get("load1"),
                "client_placement": placement if placement in PLACEMENTS else "",
                "samples": [],
            }
        # What is kept is type-checked as the round's sample is read (Round.from_dict).
        own = {k: v for k, v in meta.items() if k not in copied}
        r["samples"].append({**s, "metadata": own})
    d["measured"] = list(rounds.values())
    swept = (d.get("params") or {}).get(_V2_SWEPT) if d.get("series") else None
    if isinstance(swept, int) and not isinstance(swept, bool):
        d["sweep_axis"], d["sweep_value"] = _V2_SWEPT, swept


def rounds_from_samples(samples: Iterable[Sample], pass_index: int = 0) -> list[Round]:
    """Rounds from samples that say their round in their metadata (`round`, default 0), the
    way older records and hand-built test data number them."""
    by_number: dict[int, list[Sample]] = {}
    for s in samples:
        number = s.metadata.get("round", 0)
        by_number.setdefault(int(number), []).append(s)
    return [Round(n, tuple(group), pass_index) for n, group in sorted(by_number.items())]
