"""The stored case record: written and read by one class, older versions upgraded, newer refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.synthetic import case_record
from triptych.record import RECORD_VERSION, CaseRecord, RecordError, RoundsReached
from triptych.sample import Sample

DATA = Path(__file__).parent / "data"


def _record() -> CaseRecord:
    samples = [Sample("tcp throughput", 31.5, "Gbit/s", True, {"round": r}) for r in range(2)]
    return case_record(
        "docker-bridge",
        "net",
        "network",
        samples,
        variant="published",
        primary_variant=False,
        params={"streams": 1},
        platform_metadata={"layer": "container", "limit_cpus": 0.5},
        rounds_policy=RoundsReached(2, 9, 0.02, 0.015, True),
    )


def test_roundtrip_through_json() -> None:
    record = _record()
    info = json.loads(json.dumps(record.to_extra_info()))
    assert info["triptych_api"] == RECORD_VERSION
    assert CaseRecord.from_extra_info(info) == record


def test_version_1_records_of_a_real_saved_run_are_upgraded() -> None:
    doc = json.loads((DATA / "run-quick-all-platforms.json").read_text())
    infos = [b["extra_info"] for b in doc["benchmarks"]]
    assert {i["triptych_api"] for i in infos} == {1}
    records = {(r.platform, r.variant, r.case): r for r in map(CaseRecord.from_extra_info, infos)}
    assert records["docker-bridge", "bridge-ip", "net-throughput"].primary_variant
    assert not records["docker-bridge", "published", "net-throughput"].primary_variant
    assert not records["docker-host", "overlay", "disk-seq-read"].primary_variant
    assert records["vm", "default", "cpu-sysbench"].emulated
    assert not records["host", "default", "cpu-sysbench"].emulated
    assert [
        records[p, "default", "cpu-sysbench"].platform_rank
        for p in ("host", "docker-host", "docker-bridge", "vm")
    ] == [0, 1, 2, 3]
    assert records["vm", "default", "startup"].primary_metric == "startup time to first exec"
    assert records["host", "default", "cpu-sysbench"].samples[0].metric == "cpu events"


def test_a_newer_record_is_refused_with_the_fix() -> None:
    info = {**_record().to_extra_info(), "triptych_api": RECORD_VERSION + 1}
    with pytest.raises(RecordError, match=r"^run\.json: written by a newer triptych .*upgrade"):
        CaseRecord.from_extra_info(info, "run.json")


def test_a_damaged_record_is_one_line() -> None:
    info = _record().to_extra_info()
    del info["platform"]
    with pytest.raises(RecordError, match=r"malformed record .*remove it or restore it") as e:
        CaseRecord.from_extra_info(info, "run.json")
    assert "\n" not in str(e.value)
