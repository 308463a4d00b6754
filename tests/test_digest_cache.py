"""The report's digest cache: what it writes reads back as it was, and a cache file that is
damaged, truncated, of another version or another byte order is no cache at all (the run is
digested afresh and the report is the same)."""

from __future__ import annotations

import shutil
import sys
from array import array
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from triptych.results import digest, digest_cache, load

DATA = Path(__file__).parent / "data" / "run-quick-all-platforms.json"


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """A digest with its arrays as their kind and bytes, to compare (NaN included)."""

    def raw(v: Any) -> Any:
        return (v.typecode, v.tobytes()) if isinstance(v, array) else v

    out = {k: raw(v) for k, v in d.items() if k != "text"}
    out["text"] = {
        c: {"categories": t["categories"], "codes": raw(t["codes"])} for c, t in d["text"].items()
    }
    return out


@pytest.fixture
def made() -> dict[str, Any]:
    return digest.digest_of(DATA, digest.read_run(DATA))


def test_a_digest_reads_back_as_it_was_written(made: dict[str, Any]) -> None:
    back = digest_cache.decode(digest_cache.encode(made))
    assert back is not None
    assert _plain(back) == _plain(made)
    # Its figures are the file's, in the file's order (read here without the digest).
    doc = orjson.loads(DATA.read_bytes())
    values = [s["value"] for b in doc["benchmarks"] for s in b["extra_info"]["samples"]]
    assert back["value"].tolist() == values
    metrics = back["text"]["metric"]
    assert [metrics["categories"][i] for i in metrics["codes"]][:3] == [
        s["metric"] for s in doc["benchmarks"][0]["extra_info"]["samples"][:3]
    ]


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    """A cache file's header and its arrays' bytes."""
    start = len(digest_cache.MAGIC) + 8
    end = start + int.from_bytes(data[len(digest_cache.MAGIC) : start], "little")
    return orjson.loads(data[start:end]), data[end:]


def _with_header(header: dict[str, Any], raw: bytes) -> bytes:
    head = orjson.dumps(header)
    return digest_cache.MAGIC + len(head).to_bytes(8, "little") + head + raw


def test_a_cache_file_not_of_this_code_is_not_believed(made: dict[str, Any]) -> None:
    data = digest_cache.encode(made)
    header, raw = _split(data)
    assert header["version"] == digest_cache.CACHE_VERSION
    assert digest_cache.decode(_with_header(header, raw)) is not None  # the helpers are sound
    other = "big" if sys.byteorder == "little" else "little"
    few = {**header["categories"], "metric": header["categories"]["metric"][:1]}
    refused = [
        data[:-1],  # truncated in its last array
        data[: len(data) // 2],
        data + b"\0",  # longer than its header says
        b"x" + data[1:],  # not our magic
        b"",
        _with_header({**header, "version": "2-0123456789ab-arrays-1"}, raw),
        _with_header({**header, "byteorder": other}, raw),
        _with_header({**header, "arrays": header["arrays"][1:]}, raw),  # an array missing
        _with_header({**header, "categories": few}, raw),  # codes beyond the categories
        _with_header({**header, "arrays": [[*a[:2], a[2] + 1] for a in header["arrays"]]}, raw),
    ]
    # Counts that do not hold the columns: a round's samples one more, or below zero, or a
    # case with a round more than there are (each array itself whole).
    for which, value in (("samples", None), ("samples", -1), ("rounds", None)):
        counts = {k: array(v.typecode, v) for k, v in made["counts"].items()}
        counts[which][0] = counts[which][0] + 1 if value is None else value
        refused.append(digest_cache.encode({**made, "counts": counts}))
    for i, bad in enumerate(refused):
        assert digest_cache.decode(bad) is None, i


def test_a_damaged_cache_is_replaced_and_the_report_is_the_same(tmp_path: Path) -> None:
    run = tmp_path / "0001_run.json"
    shutil.copy(DATA, run)
    first = load.load_runs([run]).samples
    cached = digest_cache.cache_path(run)
    good = cached.read_bytes()
    assert digest_cache.decode(good) is not None
    cached.write_bytes(good[: len(good) - 100])
    pd.testing.assert_frame_equal(load.load_runs([run]).samples, first)
    assert cached.read_bytes() == good  # digested afresh, and cached again
