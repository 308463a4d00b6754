"""Every program the suite measures with, declared once: its Debian packages, how it says its
version, and where it runs. The image recipe, the install script's package list, the machine
record, each platform's record of its builds (and so the report's "different builds" warning)
and the report's environment table all read this table.

Run as a script (`python3 src/triptych/tools.py`, no dependencies) it prints the packages the
host needs, one per line, for scripts/install.sh.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

# Where a tool runs: on every platform (the measured tool, or a server; the host runs it too),
# or only on the host (a load generator whose server is on the platform).
PLATFORM, HOST = "platform", "host"
PG_BIN = "/usr/lib/postgresql/15/bin"  # Debian 12's PostgreSQL, on the host and in the image


@dataclass(frozen=True)
class Tool:
    name: str  # as records name it: tool_NAME in the machine's and each platform's record
    packages: tuple[str, ...]  # the Debian packages that provide it
    version: tuple[str, ...]  # argv that prints its version on its first line
    where: str = PLATFORM

    @property
    def executable(self) -> str:
        return self.version[0]


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("sysbench", ("sysbench",), ("sysbench", "--version")),
        Tool("stress-ng", ("stress-ng",), ("stress-ng", "--version")),
        Tool("fio", ("fio",), ("fio", "--version")),
        Tool("iperf3", ("iperf3",), ("iperf3", "--version")),
        Tool("sockperf", ("sockperf",), ("sockperf", "--version")),
        Tool("redis-server", ("redis-server",), ("redis-server", "--version")),
        Tool("nginx", ("nginx-light",), ("nginx", "-v")),
        Tool("postgres", ("postgresql-15",), (f"{PG_BIN}/postgres", "--version")),
        Tool("redis-benchmark", ("redis-tools",), ("redis-benchmark", "--version"), HOST),
        Tool("wrk", ("wrk",), ("wrk", "--version"), HOST),
        Tool("pgbench", ("postgresql-15",), (f"{PG_BIN}/pgbench", "--version"), HOST),
    )
}


def on_platforms() -> list[Tool]:
    """The tools every platform must carry (and whose builds a run compares across them)."""
    return [t for t in TOOLS.values() if t.where == PLATFORM]


def packages(where: str | None = None) -> list[str]:
    """The Debian packages of the tools (of those that run `where`, or of all), once each."""
    chosen = [t for t in TOOLS.values() if where is None or t.where == where]
    return sorted({p for t in chosen for p in t.packages})


if __name__ == "__main__":
    sys.stdout.write("".join(f"{p}\n" for p in packages()))
