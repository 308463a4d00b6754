"""A real PostgreSQL for the store's tests: Debian's postgresql-15 (scripts/install.sh), a
cluster initdb'd by an unprivileged user in a temporary directory, reached over TCP with a
password (scram-sha-256), stopped and removed afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PORT = 15498  # not the suite's own 15432
USER, PASSWORD, DATABASE = "tester", "pw-Zq81-never-shown", "triptych"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def url(password: str = PASSWORD, database: str = DATABASE) -> str:
    return f"postgresql://{USER}:{password}@127.0.0.1:{PORT}/{database}"


@contextmanager
def postgres() -> Iterator[str]:
    """A running server with an empty database; yields its URL."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError("postgresql-15 is not installed; run scripts/install.sh")
    root = Path(tempfile.mkdtemp(prefix="triptych-pg-"))
    data = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    # The server's user gets its directory by ownership, never by a world-writable mode.
    for path in (root, pwfile):
        os.chown(path, 65534, 65534)
    pwfile.chmod(0o600)
    run = [*NOBODY, str(PG_BIN / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}"]
    auth = ["--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--no-instructions"]
    subprocess.run([*run, *auth], check=True, capture_output=True)
    server = subprocess.Popen(
        [*NOBODY, str(PG_BIN / "postgres"), "-D", str(data), "-p", str(PORT),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
         "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait(url(database="postgres"), server)
        with psycopg.connect(url(database="postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield url()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def empty(target: str) -> None:
    """Drop everything the store's migrations create: the next publish starts from nothing."""
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(
            "DROP TABLE IF EXISTS run_costs, samples, runs, regressions, machine_roles, "
            "triptych_schema"
        )
        for f in ("triptych_check_rows()", "triptych_owns_store()", "triptych_may_publish(text)"):
            conn.execute(f"DROP FUNCTION IF EXISTS {f} CASCADE")


def _wait(target: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited with {server.returncode}")
        try:
            psycopg.connect(target, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise RuntimeError("postgres did not accept connections within 60 s")
