"""Regressions of record kept in the store (store/regressions.py), against a real PostgreSQL
(tests/pg.py) and the six real unchanged runs of tests/data/history: the nightly gate reading a
store keeps its record there night after night and a person accepts in it; the fleet's report
lists them by machine; rows are untrusted input; a machine's role writes only its own machine's
rows, and roles made before the table was get it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.gate_sim import CASE, HISTORY, PLATFORM, night
from tests.pg import PASSWORD
from triptych.cli import main
from triptych.gate.record import ACCEPTED, OPEN, Regression
from triptych.store.regressions import StoreKeeper
from triptych.store.schema import MIGRATIONS, VERSION_TABLE, machine_role_sql, migrate
from triptych.store.url import StoreError

MACHINE = json.loads((HISTORY / "0001_unchanged1.json").read_text())["machine_info"]["node"]


def gate(store: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["compare", "--store", store, "--machine", MACHINE, "--last", "5"])
    out = capsys.readouterr()
    return code, out.out + out.err


def publish_night(store: str, tmp_path: Path, src: str, name: str, date: str) -> None:
    where = tmp_path / name
    where.mkdir()
    night(src, where / f"{name}.json", f"{date}T02:00:00+00:00", 2.0, "24.0.9")
    assert main(["publish", str(where), "--store", store]) == 0


def rows(store: str) -> list[dict[str, Any]]:
    with psycopg.connect(store, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM regressions ORDER BY machine, position").fetchall()


def test_the_gate_keeps_its_record_in_the_store_until_a_person_accepts(
    store: str, history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", str(history), "--store", store]) == 0
    assert gate(store, capsys)[0] == 0
    assert rows(store) == []
    # Night 7: sysbench in a container twice as slow. Suspected; its rows are in the store.
    publish_night(store, tmp_path, "0001_unchanged1.json", "0007_bad1", "2026-11-30")
    code, out = gate(store, capsys)
    assert code == 2, out
    first = rows(store)
    assert first
    assert {(r["machine"], r["case_name"], r["platform"], r["state"]) for r in first} == {
        (MACHINE, CASE, PLATFORM, OPEN)
    }
    assert all(len(r["nights"]) == 1 and r["nights"][0].startswith("0007_bad1") for r in first)
    assert f"machine {MACHINE}" in out  # where it is kept, named
    assert PASSWORD not in out
    assert not list(tmp_path.rglob("regressions.record"))  # no file: the store keeps it
    # Night 8: still slow. Confirmed from the stored record: the gate fails.
    publish_night(store, tmp_path, "0002_unchanged2.json", "0008_bad2", "2026-12-01")
    code, out = gate(store, capsys)
    assert code == 1, out
    assert all(
        len(r["nights"]) == 2 and r["confirmed"].startswith("0008_bad2") for r in rows(store)
    )
    # The fleet's report, from the store, lists them with the machine they were found on.
    html = tmp_path / "r.html"
    assert main(["report", "--store", store, "-o", str(html)]) == 0
    page = html.read_text()
    assert f"Open regressions of record ({len(first)})" in page
    assert '<th class="l">machine</th>' in page
    assert f'<td class="l">{MACHINE}</td>' in page
    # A person lists and accepts them in the store.
    capsys.readouterr()
    assert main(["accept", "--store", store, "--machine", MACHINE, "--list"]) == 0
    listing = capsys.readouterr().out
    assert f"{len(first)} open regression(s) in store" in listing
    assert PASSWORD not in listing
    metrics = {r.metric for r in StoreKeeper(store, MACHINE).load()}
    for metric in metrics:
        key = ["--case", CASE, "--metric", metric, "--platform", PLATFORM]
        argv = ["accept", "--store", store, "--machine", MACHINE, *key]
        assert main([*argv, "--reason", "new sysbench", "--by", "ops"]) == 0
    assert {(r["state"], r["accepted_by"], r["reason"]) for r in rows(store)} == {
        (ACCEPTED, "ops", "new sysbench")
    }
    # Night 9 at the new level passes: its baseline is the accepted nights.
    publish_night(store, tmp_path, "0003_unchanged3.json", "0009_bad3", "2026-12-02")
    code, out = gate(store, capsys)
    assert code == 0, out
    assert "Open regressions of record" not in out


def _regression(first_run: str = "0007_x") -> Regression:
    return Regression(
        CASE, "cpu events", PLATFORM, "env", "quick", first_run, "2026-11-30", "0006_y", 2.0,
        (first_run,),
    )  # fmt: skip


GOOD_ROW = {
    "env": "env", "scenario": "quick", "case_name": CASE, "metric": "cpu events",
    "platform": PLATFORM, "first_run": "0007_x", "first_date": "2026-11-30", "last_good": "",
    "cost": 2.0, "nights": '["0007_x"]', "state": "open", "closed_run": "", "accepted_by": "",
    "accepted_at": "", "reason": "", "confirmed": "",
}  # fmt: skip


def _plant(store: str, machine: str, **changed: object) -> None:
    row = {**GOOD_ROW, **changed}
    with psycopg.connect(store) as conn:
        conn.execute(
            f"INSERT INTO regressions (machine, position, {', '.join(row)}) "  # noqa: S608
            f"VALUES (%s, 0, {', '.join(['%s'] * len(row))})",
            (machine, *row.values()),
        )


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"case_name": "a\x1b[2Jb"}, ".case is too long or holds control characters"),
        ({"metric": "a\u2028b"}, ".metric is too long or holds control characters"),
        ({"cost": float("nan")}, ".cost is not a finite number"),
        ({"nights": '{"a": 1}'}, ".nights is not a list of run names"),
        ({"nights": '["0007_x", 5]'}, ".nights[1] is int, not text"),
        ({"state": "closed"}, ".state is 'closed', not one of open, accepted, reverted"),
        ({"reason": "x" * 5000}, ".reason is too long"),
    ],
)
def test_a_hostile_row_is_refused_in_one_line(
    store: str,
    history: Path,
    capsys: pytest.CaptureFixture[str],
    changed: dict[str, object],
    field: str,
) -> None:
    assert main(["publish", str(history / "0001_unchanged1.json"), "--store", store]) == 0
    _plant(store, MACHINE, **changed)
    capsys.readouterr()
    assert main(["compare", "--store", store, "--machine", MACHINE, "--last", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f'the regressions row of machine "{MACHINE}"{field}' in err
    assert "delete that machine's rows" in err
    assert "\x1b" not in err
    assert PASSWORD not in err


@pytest.mark.parametrize("machine", ["evil\x1b]0;pwned\x07", "two\u2028lines"])
def test_a_hostile_machine_name_is_refused_by_the_report(
    store: str, history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], machine: str
) -> None:
    assert main(["publish", str(history / "0001_unchanged1.json"), "--store", store]) == 0
    _plant(store, machine)
    capsys.readouterr()
    assert main(["report", "--store", store, "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "is not a host name" in err
    assert "\x1b" not in err
    assert "\x07" not in err
    assert "\u2028" not in err
    assert not (tmp_path / "r.html").exists()


def _role(store: str, role: str, password: str) -> str:
    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    return store.replace(f"tester:{PASSWORD}", f"{role}:{password}")


def _drop_role(store: str, role: str) -> None:
    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_a_machines_role_keeps_only_its_own_machines_record(store: str, history: Path) -> None:
    assert main(["publish", str(history / "0001_unchanged1.json"), "--store", store]) == 0
    StoreKeeper(store, "bench-b").save([_regression()])  # the owner may write any machine's
    role = "tt_rec_a"
    as_a = _role(store, role, "pw-rec-a-only")
    try:
        with psycopg.connect(store, autocommit=True) as conn:
            for statement, params in machine_role_sql(role, "bench-a"):
                conn.execute(statement, params)
        StoreKeeper(as_a, "bench-a").save([_regression(), _regression("0008_z")])
        assert [r.first_run for r in StoreKeeper(as_a, "bench-a").load()] == ["0007_x", "0008_z"]
        refusal = "this credential may not keep the regressions of machine 'bench-b'"
        with pytest.raises(StoreError, match=refusal) as refused:
            StoreKeeper(as_a, "bench-b").save([])  # nor clear another machine's
        assert "pw-rec-a-only" not in str(refused.value)
        with pytest.raises(StoreError, match=refusal):
            StoreKeeper(as_a, "bench-b").save([_regression("0009_forged")])
        # Nothing of bench-b's changed: its one row is as the owner wrote it.
        assert [(r.machine, r.first_run) for r in StoreKeeper(store, "bench-b").load()] == [
            ("bench-b", "0007_x")
        ]
        # Nor by hand: the store itself refuses (row-level security).
        with psycopg.connect(as_a) as conn:
            gone = conn.execute("DELETE FROM regressions WHERE machine = 'bench-b'").rowcount
            assert gone == 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO regressions SELECT 'bench-b', 1, env, scenario, case_name, "
                    "metric, platform, first_run, first_date, last_good, cost, nights, state, "
                    "closed_run, accepted_by, accepted_at, reason, confirmed FROM regressions "
                    "WHERE machine = 'bench-a'"
                )
    finally:
        _drop_role(store, role)


def test_roles_made_before_the_table_keep_their_record_in_it(store: str) -> None:
    role = "tt_rec_old"
    as_old = _role(store, role, "pw-rec-old")
    try:
        with psycopg.connect(store) as conn:
            with conn.cursor() as cur:
                cur.execute(f"CREATE TABLE {VERSION_TABLE} (version integer NOT NULL)")
                for step in MIGRATIONS[:4]:
                    cur.execute(step)
                cur.execute(f"INSERT INTO {VERSION_TABLE} VALUES (4)")  # noqa: S608 - a constant
                # What the README's SQL granted a machine's role before schema 5.
                cur.execute(f"GRANT SELECT, INSERT, DELETE ON runs, samples, run_costs TO {role}")
                cur.execute(f"GRANT SELECT ON {VERSION_TABLE}, machine_roles TO {role}")
                cur.execute("INSERT INTO machine_roles VALUES (%s, 'bench-old')", (role,))
                # A role in the table that no longer exists is passed over.
                cur.execute("INSERT INTO machine_roles VALUES ('tt_gone', 'bench-gone')")
            conn.commit()
            assert migrate(conn) == len(MIGRATIONS)
        StoreKeeper(as_old, "bench-old").save([_regression()])
        assert [r.first_run for r in StoreKeeper(as_old, "bench-old").load()] == ["0007_x"]
    finally:
        _drop_role(store, role)
