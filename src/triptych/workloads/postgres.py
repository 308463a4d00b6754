"""PostgreSQL: its data directory on the platform's primary disk, `postgres -D` in the
foreground; `pgbench` on the host (select-only or TPC-B-like) with a per-transaction log, from
which the latency percentiles are exact."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from triptych.errors import ParseError, TriptychError
from triptych.platforms.base import Endpoint, Platform
from triptych.process import CLEAN_ENV, CommandResult, run_local
from triptych.sample import MetaValue, Sample
from triptych.validate import setting
from triptych.workloads.base import RunSpec, number, whole_seconds
from triptych.workloads.server import answered
from triptych.workloads.service import SETUP_TIMEOUT, ServiceWorkload, write_file

POSTGRES_PORT = 15432
PG_BIN = "/usr/lib/postgresql/15/bin"  # Debian 12's PostgreSQL, on the host and in the image
USER = "bench"
DATABASE = "postgres"
MODES = {"select-only": ["-S"], "tpcb-like": ["-b", "tpcb-like"]}
LOG_PREFIX = "round"
TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)
FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)
# The server listens only where its client connects from (loopback on the host and with host
# networking; the container's or guest's own address otherwise), and every TCP connection
# authenticates with scram against a password made for this case: never `trust` over TCP, where
# any local user could connect as the superuser. No Unix socket is opened.
PG_HBA = (
    "local all all peer\n"
    f"host all {USER} 0.0.0.0/0 scram-sha-256\n"
    f"host all {USER} ::/0 scram-sha-256\n"
)
PASSFILE = "pgpass"
# A random password, made where the server runs by the service user, never on a command line.
MAKE_PASSWORD = 'umask 077 && head -c 18 /dev/urandom | base64 > "$0"'  # noqa: S105 - a script
PASSWORD = re.compile(r"[A-Za-z0-9+/]{24}")


@dataclass(frozen=True)
class PgbenchParams:
    connections: int = setting(
        8, low=1, high=1000, hint="connections = 8 (or a list to sweep, like [1, 8, 32])"
    )
    mode: str = setting("select-only", choices=tuple(MODES))
    scale: int = setting(1, low=1, high=1000, hint="scale = 1 (100,000 accounts per unit)")


class Pgbench(ServiceWorkload):
    """Transactions/s and transaction latency (mean, p50, p99) against a fresh database."""

    name: ClassVar[str] = "postgres"
    tool: ClassVar[str] = "pgbench"
    primary_metric: ClassVar[str] = "transaction rate"
    Params: ClassVar[type[PgbenchParams]] = PgbenchParams
    params: PgbenchParams
    port: ClassVar[int] = POSTGRES_PORT

    _password: str = ""

    def setup(self, platform: Platform, directory: str) -> None:
        pwfile = f"{directory}/initdb-password"
        platform.execute_as_service(["sh", "-c", MAKE_PASSWORD, pwfile], 60).check(platform.name)
        made = platform.execute_as_service(["cat", pwfile], 60).check(platform.name)
        if not PASSWORD.fullmatch(made.stdout.strip()):
            raise TriptychError(f"could not make a password for PostgreSQL on {platform.name}")
        self._password = made.stdout.strip()
        initdb = [
            f"{PG_BIN}/initdb", "-D", f"{directory}/data", "-U", USER, f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--no-instructions",
        ]  # fmt: skip
        try:
            platform.execute_as_service(initdb, SETUP_TIMEOUT).check(platform.name)
        finally:
            platform.execute_as_service(["rm", "-f", "--", pwfile], 60)
        write_file(platform, f"{directory}/data/pg_hba.conf", PG_HBA)

    def client_env(self, client_dir: Path) -> dict[str, str]:
        """pgbench finds the password in a file of root's (0600), never on its command line."""
        passfile = client_dir / PASSFILE
        if not passfile.exists():
            fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"*:*:*:{USER}:{self._password}\n")
        return {**CLEAN_ENV, "PGPASSFILE": str(passfile)}

    def server_argv(self, platform: Platform, directory: str) -> list[str]:
        return [
            f"{PG_BIN}/postgres",
            "-D", f"{directory}/data",
            "-p", str(self.port),
            "-c", f"listen_addresses={platform.listen_host()}",
            "-c", "unix_socket_directories=",
            "-c", f"max_connections={max(100, self.params.connections + 10)}",
        ]  # fmt: skip

    def request(self, endpoint: Endpoint, client_dir: Path) -> str | None:
        psql = [f"{PG_BIN}/psql", *self._connect(endpoint), "-w", "-X", "-q", "-c", "SELECT 1"]
        return answered([*psql, DATABASE], self.client_env(client_dir))

    def _connect(self, endpoint: Endpoint) -> list[str]:
        return ["-h", endpoint.host, "-p", str(endpoint.port), "-U", USER]

    def after_ready(self, platform: Platform, endpoint: Endpoint, client_dir: Path) -> None:
        argv = [f"{PG_BIN}/pgbench", "-i", "-q", "-s", str(self.params.scale)]
        where = "host (pgbench -i)"
        env = self.client_env(client_dir)
        run_local([*argv, *self._connect(endpoint), DATABASE], SETUP_TIMEOUT, where, env).check(
            where
        )

    def client_argv(self, endpoint: Endpoint, client_dir: Path, run: RunSpec) -> list[str]:
        for old in client_dir.glob(f"{LOG_PREFIX}.*"):
            old.unlink()
        c = self.params.connections
        return [
            f"{PG_BIN}/pgbench",
            *self._connect(endpoint),
            "-c", str(c),
            "-j", str(min(c, len(self.client_cpus()))),
            "-T", str(whole_seconds(run.duration)),
            *MODES[self.params.mode],
            "-l", f"--log-prefix={client_dir / LOG_PREFIX}",
            DATABASE,
        ]  # fmt: skip

    def parse_round(self, result: CommandResult, client_dir: Path) -> list[Sample]:
        logs = [f.read_text() for f in sorted(client_dir.glob(f"{LOG_PREFIX}.*"))]
        return parse_pgbench(result.stdout, logs, self.params)


def _latencies(logs: list[str], output: str) -> list[float]:
    """Each transaction's latency in us: the third field of pgbench's per-transaction log
    (client, transaction, latency, script, epoch, us)."""
    out: list[float] = []
    for text in logs:
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 6:
                raise ParseError(
                    "pgbench", f"transaction log line {line!r} is not 6 fields", output
                )
            out.append(float(fields[2]))
    return sorted(out)


def nearest_rank(ordered: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values by nearest rank: a value that occurred."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def parse_pgbench(output: str, logs: list[str], p: PgbenchParams) -> list[Sample]:
    tps = TPS.search(output)
    if tps is None:
        raise ParseError("pgbench", "no 'tps = ... (without initial connection time)' line", output)
    latencies = _latencies(logs, output)
    if not latencies:
        raise ParseError("pgbench", "the transaction log is empty", output)
    failed = FAILED.search(output)
    meta: dict[str, MetaValue] = {
        "connections": p.connections,
        "mode": p.mode,
        "scale": p.scale,
        "transactions_logged": len(latencies),
    }
    samples = [
        Sample("transaction rate", number("pgbench", output, tps.group(1), "tps"), "tx/s", True,
               metadata=meta),
        Sample("failed transactions", float(failed.group(1)) if failed else 0.0, "count", False,
               metadata=meta),
        Sample("latency mean", sum(latencies) / len(latencies), "us", False, metadata=meta),
    ]  # fmt: skip
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        samples.append(
            Sample(f"latency {label}", nearest_rank(latencies, q), "us", False, metadata=meta)
        )
    return samples
