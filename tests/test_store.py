"""The shared store against a real PostgreSQL (tests/pg.py): runs published from files read back
with the same figures, once however often or however concurrently they are published, never
half; and every error one line with no password in it."""

from __future__ import annotations

import json
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.pg import PASSWORD, PORT, url
from tests.synthetic import case_record
from triptych.cli import main
from triptych.gate.compare import Sides, changes
from triptych.gate.history import newest_against_history
from triptych.journal import Journal
from triptych.report.analysis import analyse
from triptych.results.columns import COLUMNS_TABLE, KINDS
from triptych.results.load import Runs, load_runs, run_key
from triptych.sample import Sample
from triptych.session import new_session_id
from triptych.store.commands import gate_runs, report_runs
from triptych.store.schema import MIGRATIONS, VERSION_TABLE, machine_role_sql, migrate

HISTORY = Path(__file__).parent / "data" / "history"


def counts(target: str) -> tuple[int, int]:
    with psycopg.connect(target) as conn:
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()
        samples = conn.execute("SELECT count(*) FROM samples").fetchone()
    assert runs is not None
    assert samples is not None
    return int(runs[0]), int(samples[0])


def tables(runs: Runs) -> list[tuple[object, ...]]:
    """Every figure the report shows, by case, metric and column: medians, counts, verdicts."""
    out: list[tuple[object, ...]] = []
    groups = analyse(
        runs.samples, runs.machines, runs.partial, runs.platforms, runs.history, runs.earlier
    )
    for g in groups:
        for r in g.rows:
            for label, c in sorted(r.cells.items()):
                e = c.effect
                verdict = (e.verdict, round(e.cost, 9), round(e.low, 9), c.borrowed) if e else None
                out.append((r.case, r.metric, label, round(c.median, 9), c.n, verdict))
        for family, cells in g.summary.items():
            for label, cell in cells.items():
                out.append(("summary", family, label, round(cell.cost, 9), cell.tally))
        for family, lines in g.trends.items():
            for label, points in lines.items():
                costs = [round(cost, 9) for _, cost in points]
                out.append(("trend", family, label, len(g.runs), costs))
    return sorted(out, key=repr)


def test_publish_then_report_gives_the_files_figures(store: str, history: Path) -> None:
    from_files = load_runs([history])
    assert main(["publish", str(history), "--store", store]) == 0
    from_store = report_runs(store, None, None)
    # The report reads the newest run in full, and the others' stored costs (trend lines).
    newest = from_files.samples[from_files.samples.run == "0004_unchanged7"]
    assert len(from_store.samples) == len(newest)
    assert tables(from_store) == tables(from_files)
    machine = str(from_files.machines["0001_unchanged1"]["node"])
    assert set(from_store.machines) == {run_key("0004_unchanged7", machine)}
    assert from_store.history is not None
    assert set(from_store.history.run) == {run_key(n, machine) for n in from_files.machines}
    # The newest run's noise model from the five before it, as the files give it.
    assert from_store.earlier is not None
    assert set(from_store.earlier.samples.run) == {
        run_key(n, machine) for n in from_files.machines if n != "0004_unchanged7"
    }
    cells = [v for v in tables(from_store) if v[0] not in ("summary", "trend")]
    borrowed = {v[5][3] for v in cells if isinstance(v[5], tuple)}
    assert borrowed == {"history"}
    assert main(["report", "--store", store, "-o", str(history / "r.html")]) == 0
    assert "0006_unchanged6@" in (history / "r.html").read_text()


def test_the_gate_from_the_store_is_the_gate_from_files(store: str, history: Path) -> None:
    runs = sorted(history.glob("*.json"))
    newest = max(runs, key=lambda p: load_runs([p]).samples.run_date.iloc[0])
    base_dir = history / "base"
    base_dir.mkdir()
    for p in runs:
        if p != newest:
            shutil.copy(p, base_dir / p.name)
    files = changes(Sides.of(load_runs([base_dir]), load_runs([newest])))
    assert main(["publish", str(history), "--store", store]) == 0
    machine = str(load_runs([newest]).machines[newest.stem]["node"])
    baseline, current, _, _ = newest_against_history(gate_runs(store, machine, 5), 5)
    assert set(current.machines) == {run_key(newest.stem, machine)}  # never in its own baseline
    assert len(baseline.machines) == 5
    stored = changes(Sides.of(baseline, current))

    def seen(found: list) -> list:  # type: ignore[type-arg]
        return [
            (c.case, c.metric, c.platform, c.effect.verdict, round(c.effect.cost, 9)) for c in found
        ]

    assert seen(stored) == seen(files)
    assert len(files) > 100


def test_publishing_twice_stores_once(store: str, history: Path) -> None:
    first = history / "0001_unchanged1.json"
    assert main(["publish", str(first), "--store", store]) == 0
    once = counts(store)
    # The same run under another file name (every clone saves 0001_x): known by its session.
    renamed = history / "renamed"
    renamed.mkdir()
    shutil.copy(first, renamed / "0009_other.json")
    assert main(["publish", str(first), str(renamed), "--store", store]) == 0
    assert counts(store) == once
    assert once[0] == 1


def test_two_publishers_at_once_lose_nothing(store: str, history: Path) -> None:
    argv = [sys.executable, "-m", "triptych.cli", "publish", str(history), "--store", store]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    expected = load_runs([history])
    assert counts(store) == (6, len(expected.samples))
    stored = "".join(outs).count(": stored")
    assert stored == 6, outs  # each run stored by exactly one of them


def test_a_publish_killed_half_way_leaves_no_partial_run(store: str, history: Path) -> None:
    one = history / "0002_unchanged2.json"
    assert main(["publish", str(history / "0001_unchanged1.json"), "--store", store]) == 0
    before = counts(store)
    with psycopg.connect(store) as blocker:
        # Hold the samples table: the publisher inserts its run, then waits at its COPY.
        blocker.execute("LOCK TABLE samples IN ACCESS EXCLUSIVE MODE")
        argv = [sys.executable, "-m", "triptych.cli", "publish", str(one), "--store", store]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_until_blocked()
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            blocker.rollback()
    time.sleep(0.5)  # the server notices the client is gone and rolls its transaction back
    assert counts(store) == before
    assert main(["publish", str(one), "--store", store]) == 0  # and it can be published again
    assert counts(store)[0] == 2


def _wait_until_blocked() -> None:
    # autocommit: within one transaction pg_stat_activity is a snapshot that never changes
    watcher = psycopg.connect(url(), autocommit=True)
    try:
        for _ in range(300):
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'triptych'"
                " AND wait_event_type = 'Lock'"
            ).fetchone()
            if row and int(row[0]) > 0:
                return
            time.sleep(0.1)
        pytest.fail("the publisher never reached its COPY")
    finally:
        watcher.close()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (f"postgresql://tester:{PASSWORD}@127.0.0.1:1/triptych", "cannot reach the store"),
        (
            f"postgresql://tester:{PASSWORD}@127.0.0.1:{PORT}/triptych?sslmode=nonsense",
            'invalid sslmode value: "nonsense"; fix it in the URL',
        ),
        (f"postgresql://tester:{PASSWORD}@[::1/triptych", "malformed"),
        (url(password="wrong-" + PASSWORD), "password authentication failed"),
        (url(database="nosuchdb"), "does not exist"),
    ],
)
def test_store_errors_are_one_line_and_show_no_password(
    server: str, history: Path, capsys: pytest.CaptureFixture[str], target: str, expected: str
) -> None:
    code = main(["publish", str(history / "0001_unchanged1.json"), "--store", target])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1, err
    assert expected in err, err
    assert PASSWORD not in err, err
    assert "; " in err  # it names the fix


def test_the_password_from_the_environment_is_never_shown(
    server: str, history: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", "also-" + PASSWORD)
    monkeypatch.setenv("TRIPTYCH_STORE", f"postgresql://tester@127.0.0.1:{PORT}/triptych")
    assert main(["publish", str(history / "0001_unchanged1.json")]) == 2
    err = capsys.readouterr().err
    assert "password authentication failed" in err
    assert PASSWORD not in err


def test_a_partial_run_is_published_as_such_and_replaced_by_its_whole_run(
    store: str, tmp_path: Path
) -> None:
    samples = [
        Sample("cpu events", 1000.0 + r, "events/s", True, {"round": r})
        for r in range(3)
    ]  # fmt: skip
    record = case_record("host", "cpu", "cpu", samples)
    session = new_session_id()
    journal = Journal(tmp_path / "journal" / f"{session}.jsonl", session, {})
    journal.case("t/cpu/host", record, "passed")  # killed before close(): partial
    assert main(["publish", str(tmp_path), "--store", store]) == 0
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT name, partial, samples FROM runs").fetchall() == [
            (f"{session}-journal", True, 3)
        ]
    assert report_runs(store, None, None).partial == {f"{session}-journal@{platform.node()}"}
    # The same session saved in full later: the whole run replaces the partial one.
    doc = {
        "datetime": "2026-11-29T00:00:00+00:00",
        "machine_info": {"node": platform.node(), "triptych": {"session": session}},
        "commit_info": {},
        "benchmarks": [{"name": "x", "group": "t/cpu", "extra_info": record.to_extra_info()}],
    }
    saved = tmp_path / "saved" / "0001_t.json"
    saved.parent.mkdir()
    saved.write_text(json.dumps(doc))
    assert main(["publish", str(saved), "--store", store]) == 0
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT name, partial FROM runs").fetchall() == [("0001_t", False)]


def _run_of(machine: str, source: Path, dest: Path) -> Path:
    """A real saved run, as if taken on `machine` (its own session)."""
    doc = json.loads(source.read_text())
    doc["machine_info"]["node"] = machine
    doc["machine_info"]["triptych"]["session"] = new_session_id()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(doc))
    return dest


def test_a_machines_role_publishes_only_that_machines_runs(
    store: str, history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One credential per machine, checked by the store (row-level security): a runner's role
    cannot publish, nor replace, another machine's runs; the README's SQL sets it up."""
    first = sorted(history.glob("*.json"))[0]
    assert main(["publish", str(_run_of("bench-b", first, tmp_path / "b" / "0001_b.json")),
                 "--store", store]) == 0  # fmt: skip
    role, password = "tt_bench_a", "pw-bench-a-only"
    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        for statement, params in machine_role_sql(role, "bench-a"):
            conn.execute(statement, params)
    as_a = store.replace(f"tester:{PASSWORD}", f"{role}:{password}")
    try:
        own = _run_of("bench-a", first, tmp_path / "a" / "0001_a.json")
        capsys.readouterr()
        assert main(["publish", str(own), "--store", as_a]) == 0
        session = json.loads(own.read_text())["machine_info"]["triptych"]["session"]
        assert f"0001_a ({session}): stored" in capsys.readouterr().out
        forged = _run_of("bench-b", first, tmp_path / "forged" / "0002_b.json")
        capsys.readouterr()
        assert main(["publish", str(forged), "--store", as_a]) == 1
        out = capsys.readouterr().out
        assert (
            "refused by the store: this credential may not publish runs of machine 'bench-b'" in out
        )
        with psycopg.connect(store) as conn:
            rows = conn.execute("SELECT machine, count(*) FROM runs GROUP BY 1 ORDER BY 1")
            assert rows.fetchall() == [("bench-a", 1), ("bench-b", 1)]
        # Nor can it add figures to another machine's run, or delete one.
        with psycopg.connect(as_a) as conn:
            (b_id,) = conn.execute("SELECT id FROM runs WHERE machine = 'bench-b'").fetchone() or ()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO run_costs (run_id, family, label, cost) VALUES (%s, 'cpu', 'x', 9)",
                    (b_id,),
                )
            conn.rollback()
            assert conn.execute("DELETE FROM runs WHERE id = %s", (b_id,)).rowcount == 0
            conn.commit()
        # Its role reads the store like anyone (the report and the gate work as before).
        assert main(["report", "--store", as_a, "-o", str(tmp_path / "r.html")]) == 0
    finally:
        with psycopg.connect(store, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_the_samples_table_is_the_column_table(store: str, history: Path) -> None:
    """Migrations 1-2 were written by hand before the column table; 3 and later add what it
    declares. After them all, the live table and the declaration agree column for column, and
    a run stored under schema 2 (connections, no pass or set-up) reads back as a sweep."""
    with psycopg.connect(store) as conn:
        with conn.cursor() as cur:
            cur.execute(f"CREATE TABLE {VERSION_TABLE} (version integer NOT NULL)")
            for step in MIGRATIONS[:2]:
                cur.execute(step)
            cur.execute(f"INSERT INTO {VERSION_TABLE} VALUES (2)")  # noqa: S608 - a constant
            cur.execute(
                "INSERT INTO runs (session, name, machine, env, partial, samples, machine_info,"
                " platforms) VALUES ('s', 'old', 'm', 'e', false, 1, '{}', '{}') RETURNING id"
            )
            row = cur.fetchone()
            assert row is not None
            cur.execute(
                "INSERT INTO samples VALUES (%s, 'q', 'redis-c8', 'redis', 'services', 'host',"
                " 'loopback', '', 'get rate', 'requests/s', true, 0, 10.0, NULL, 'none', '',"
                " 'get rate', true, false, 0, 'redis', 8, 'shared')",
                (row[0],),
            )
        conn.commit()
        assert migrate(conn) == len(MIGRATIONS)
        live = conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_name = 'samples' AND column_name <> 'run_id' ORDER BY column_name"
        ).fetchall()
        old = conn.execute(
            "SELECT pass_index, setup, sweep_axis, sweep_value FROM samples"
        ).fetchall()
    declared = sorted(
        (c.stored_as, KINDS[c.kind][1], "YES" if c.nullable else "NO")
        for c in COLUMNS_TABLE
        if c.store is not None
    )
    assert sorted(live) == declared
    assert old == [(0, 0, "connections", 8.0)]
