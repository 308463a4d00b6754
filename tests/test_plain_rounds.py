"""The digest's reading of a record (results/run_columns.py: the head by the record's reader, the
rounds by plain_rounds.py) against the record's own reader (record.py), which is the rule: on
every saved run in tests/data (record versions 1, 2 and 3), and on the same records made
hostile one field at a time. Either both read a record alike or both refuse it with the same
line; never one reads what the other refuses."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from triptych.errors import TriptychError
from triptych.record import CaseRecord, parts_of
from triptych.results import plain_rounds
from triptych.results.plain_rounds import NotPlain, RoundColumns, of_round
from triptych.results.run_columns import case_rounds

DATA = Path(__file__).parent / "data"


def _infos(path: Path) -> list[dict[str, Any]]:
    """The run's case records (none: not a saved run, say a tool's captured output)."""
    doc = orjson.loads(path.read_bytes())
    benchmarks = doc.get("benchmarks", []) if isinstance(doc, dict) else []
    return [b["extra_info"] for b in benchmarks if CaseRecord.is_record(b.get("extra_info", {}))]


RUNS = sorted(p for p in DATA.rglob("*.json") if _infos(p))


def _comparable(rounds: list[RoundColumns]) -> list[tuple[Any, ...]]:
    """Rounds with NaN made comparable (NaN != NaN)."""
    return [
        tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in rounds
    ]


def _head(r: CaseRecord) -> dict[str, Any]:
    return {k: v for k, v in r.__dict__.items() if k != "measured"}


def _whole(info: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[Any, ...]]] | str:
    """The record's own reader: what it reads, or its one line."""
    try:
        r = CaseRecord.from_extra_info(info, "f")
    except TriptychError as e:
        return str(e)
    return _head(r), _comparable([of_round(x) for x in r.measured])


def _digest(info: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[Any, ...]]] | str:
    try:
        head, rounds = case_rounds(info, "f")
    except TriptychError as e:
        return str(e)
    return _head(head), _comparable(rounds)


def test_the_saved_runs_hold_every_record_version() -> None:
    versions = {i["triptych_api"] for p in RUNS for i in _infos(p)}
    assert versions == {1, 2, 3}


@pytest.mark.parametrize("path", RUNS, ids=[str(p.relative_to(DATA)) for p in RUNS])
def test_every_saved_record_is_read_plainly_and_as_its_own_reader_reads_it(path: Path) -> None:
    for info in _infos(path):
        whole = CaseRecord.from_extra_info(info, "f")
        # The plain reader itself, not its fall-back: these are the records we write.
        parts = parts_of(info)
        assert parts is not None
        head = CaseRecord.from_extra_info(parts.head, "f")
        rounds = (
            plain_rounds.flat(parts.rounds, head.pass_index)
            if parts.flat
            else plain_rounds.measured(parts.rounds)
        )
        assert _comparable(rounds) == _comparable([of_round(r) for r in whole.measured])
        assert _head(head) == _head(whole)
        assert sum(len(r.values) for r in rounds) == len(whole.samples)


Change = Callable[[dict[str, Any]], None]


def _round_of(info: dict[str, Any]) -> dict[str, Any]:
    got: dict[str, Any] = info["measured"][0]
    return got


def _sample_of(info: dict[str, Any]) -> dict[str, Any]:
    got: dict[str, Any] = (
        info["measured"][0]["samples"][0] if "measured" in info else info["samples"][0]
    )
    return got


def _meta_of(info: dict[str, Any]) -> dict[str, Any]:
    got: dict[str, Any] = _sample_of(info).setdefault("metadata", {})
    return got


def _set(where: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Change:
    def change(info: dict[str, Any]) -> None:
        where(info)[key] = value

    return change


def _drop(where: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Change:
    def change(info: dict[str, Any]) -> None:
        where(info).pop(key, None)

    return change


HOSTILE: list[Any] = [
    None,
    "1",
    True,
    1,
    -1,
    10**7,
    2**70,
    1.5,
    1e300,
    math.nan,
    math.inf,
    [],
    {},
    [1.0],
    {"a": 1},
]
SAMPLE_KEYS = ("metric", "value", "unit", "higher_is_better", "timestamp", "metadata")
ROUND_KEYS = (
    "number",
    "pass_index",
    "setup",
    "foreign_cpu",
    "load1",
    "client_placement",
    "host_cpu",
    "samples",
)
META_KEYS = ("round", "foreign_cpu", "load1", "client_placement", "threads", "layer")


def _changes(info: dict[str, Any]) -> list[tuple[str, Change]]:
    out: list[tuple[str, Change]] = []
    for key in SAMPLE_KEYS:
        out.append((f"sample.{key} missing", _drop(_sample_of, key)))
        out += [(f"sample.{key}={v!r}", _set(_sample_of, key, v)) for v in HOSTILE]
    for key in META_KEYS:
        out.append((f"metadata.{key} missing", _drop(_meta_of, key)))
        out += [(f"metadata.{key}={v!r}", _set(_meta_of, key, v)) for v in HOSTILE]
    out.append(("metadata: a key not text", _set(_meta_of, 7, "x")))  # type: ignore[arg-type]
    out += [(f"metadata.client_placement={v}", _set(_meta_of, "client_placement", v)) for v in (
        "apart", "shared", "elsewhere")]  # fmt: skip
    if "measured" in info:
        for key in ROUND_KEYS:
            out.append((f"round.{key} missing", _drop(_round_of, key)))
            out += [(f"round.{key}={v!r}", _set(_round_of, key, v)) for v in HOSTILE]
        if _round_of(info).get("host_cpu") is not None:
            out += [
                (f"host_cpu.wall={v!r}", _set(lambda i: _round_of(i)["host_cpu"], "wall", v))
                for v in (-1.0, "1", None, 1e300)
            ]
        out += [(f"measured={v!r}", _set(lambda i: i, "measured", v)) for v in HOSTILE]
        out += [("round not an object", lambda i: i["measured"].insert(0, [1]))]
    else:
        out += [(f"samples={v!r}", _set(lambda i: i, "samples", v)) for v in HOSTILE]
        out += [("sample not an object", lambda i: i["samples"].insert(0, "x"))]
    out += [(f"pass_index={v!r}", _set(lambda i: i, "pass_index", v)) for v in HOSTILE]
    odd: list[Any] = [None, 5, [], "x"]
    out += [(f"platform={v!r}", _set(lambda i: i, "platform", v)) for v in odd]
    out += [(f"params={v!r}", _set(lambda i: i, "params", v)) for v in odd]
    out += [(f"series={v!r}", _set(lambda i: i, "series", v)) for v in ("s", 5)]
    out += [(f"triptych_api={v!r}", _set(lambda i: i, "triptych_api", v)) for v in (0, 4, "3")]
    return out


def _bases() -> list[tuple[str, dict[str, Any]]]:
    """One real record of each version, with the host CPU of its rounds where it has one."""
    by_version: dict[int, tuple[str, dict[str, Any]]] = {}
    for path in RUNS:
        for info in _infos(path):
            version = info["triptych_api"]
            has_cpu = version == 3 and info["measured"][0].get("host_cpu") is not None
            if version not in by_version or has_cpu:
                by_version[version] = (path.name, info)
    return [by_version[v] for v in sorted(by_version)]


BASES = _bases()


@pytest.mark.parametrize(("name", "info"), BASES, ids=[f"v{i['triptych_api']}" for _, i in BASES])
def test_a_hostile_field_is_read_or_refused_alike(name: str, info: dict[str, Any]) -> None:
    read = refused = 0
    for what, change in _changes(info):
        hostile = copy.deepcopy(info)
        change(hostile)
        whole, digest = _whole(hostile), _digest(hostile)
        assert digest == whole, (name, what)
        if isinstance(whole, str):
            refused += 1
        else:
            read += 1
    # Both outcomes are exercised: a file can hold a figure the reader reads (an integer,
    # say) and fields it refuses.
    assert read > 10
    assert refused > 10


def test_the_plain_reader_leaves_what_is_not_plain_to_the_record_reader() -> None:
    """An integer figure is a figure (the record's reader reads it); the plain reader hands it
    over instead of reading it itself, and the record reader's answer is the digest's."""
    info = copy.deepcopy(_infos(DATA / "run-density.json")[0])
    info["measured"][0]["samples"][0]["value"] = 5
    with pytest.raises(NotPlain):
        plain_rounds.measured(info["measured"])
    head, rounds = case_rounds(info, "f")
    assert rounds[0].values[0] == 5.0
    assert head.case == info["case"]
