"""A record's rounds read straight into the columns of its samples, where every value is plain:
the exact types JSON gives (text, true/false, finite numbers in range), in the shapes the record
writes. Anything else raises NotPlain, and the caller reads the whole record with its own
reader (record.py), which reads it or says what is wrong: the rules here are that reader's,
only stricter, so a record read here is one that reader reads the same (tests/
test_plain_rounds.py holds them to that, field by field).

Why it exists: a year of nightly runs is 100,000s of samples, and a Sample and a Round object
for each, with the generic field readers, cost most of a cold report's time.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from triptych.fields import MAX_VALUE, plain_table
from triptych.host_cpu import HostCpu
from triptych.record import PLACEMENTS, Round
from triptych.sample import plain_fields

_MOST = 10**6  # a round's number, pass and set-up (record.py's bound)


class NotPlain(Exception):
    """A value or shape the plain reader leaves to the record's own reader."""


class RoundColumns(NamedTuple):
    """One round's facts and its samples' columns."""

    number: int
    pass_index: int
    setup: int
    foreign_cpu: float  # NaN: not recorded
    placement: str
    host_cpu: HostCpu | None
    metrics: list[str]
    units: list[str]
    higher: list[bool]
    values: list[float]


def of_round(r: Round) -> RoundColumns:
    """A round the record's reader read, as columns."""
    return RoundColumns(
        r.number,
        r.pass_index,
        r.setup,
        math.nan if r.foreign_cpu is None else r.foreign_cpu,
        r.client_placement,
        r.host_cpu,
        [s.metric for s in r.samples],
        [s.unit for s in r.samples],
        [s.higher_is_better for s in r.samples],
        [s.value for s in r.samples],
    )


def measured(rounds: object) -> list[RoundColumns]:
    """A version 3 record's `measured` rounds."""
    if type(rounds) is not list:
        raise NotPlain
    out = []
    for r in rounds:
        if type(r) is not dict or "number" not in r:
            raise NotPlain
        placement = r.get("client_placement", "")
        if type(placement) is not str or placement not in PLACEMENTS:
            raise NotPlain
        spent = r.get("host_cpu")
        _real(r.get("load1"))
        got = RoundColumns(
            _whole(r["number"]),
            _whole(r.get("pass_index", 0)),
            _whole(r.get("setup", 0)),
            _real(r.get("foreign_cpu")),
            placement,
            None if spent is None else _host_cpu(spent),
            [],
            [],
            [],
            [],
        )
        samples = r.get("samples", [])
        if type(samples) is not list:
            raise NotPlain
        for s in samples:
            _sample(s, got)
        out.append(got)
    return out


def flat(samples: object, pass_index: int) -> list[RoundColumns]:
    """An older record's flat samples, grouped into rounds by the round each names in its
    metadata (record.py's _v2_rounds): in the order of their first sample, whose metadata
    holds the round's facts."""
    if type(samples) is not list:
        raise NotPlain
    rounds: dict[int, RoundColumns] = {}
    for s in samples:
        if type(s) is not dict:
            raise NotPlain
        meta = s.get("metadata", {})
        if type(meta) is not dict:
            raise NotPlain
        number = meta.get("round", 0)
        got = rounds.get(number) if type(number) is int else None
        if got is None:
            placement = meta.get("client_placement", "")
            _real(meta.get("load1"))
            got = rounds[_whole(number)] = RoundColumns(
                number,
                pass_index,
                0,
                _real(meta.get("foreign_cpu")),
                placement if placement in PLACEMENTS else "",
                None,
                [],
                [],
                [],
                [],
            )
        _sample(s, got)
    return list(rounds.values())


def _sample(s: object, into: RoundColumns) -> None:
    """One sample into its round's columns (Sample.from_dict's rules, exact types only)."""
    if type(s) is not dict:
        raise NotPlain
    got, meta = plain_fields(s), s.get("metadata", {})
    if got is None or type(meta) is not dict or not plain_table(meta):
        raise NotPlain
    metric, value, unit, higher, _ = got
    into.metrics.append(metric)
    into.units.append(unit)
    into.higher.append(higher)
    into.values.append(value)


def _whole(v: object) -> int:
    if type(v) is int and 0 <= v <= _MOST:
        return v
    raise NotPlain


def _real(v: object) -> float:
    """An optional figure (None: NaN)."""
    if v is None:
        return math.nan
    if (type(v) is float or type(v) is int) and -MAX_VALUE <= v <= MAX_VALUE:
        return float(v)
    raise NotPlain


def _host_cpu(d: Any) -> HostCpu:  # noqa: ANN401 - checked here
    try:
        return HostCpu.from_dict(d)
    except ValueError:  # FieldError: its reader's own rules
        raise NotPlain from None
