"""The fleet report's speed from a store (issue 15): 365 nightly runs of the default scenario's
size on each of 3 machines, published through the real publisher (one run per machine) and
copied by the database for the other nights; then `triptych report --store` is timed.

Run by hand (it needs ~2 GB of disk and a few minutes): `.venv/bin/python -m tests.fleet_perf`.
Not a test: figures go to the issue note, never into assertions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg

from tests.pg import postgres
from tests.synthetic import Metric, noisy, write_run
from triptych.results.columns import STORED
from triptych.store.publish import publish

NIGHTS = 365
MACHINES = ("bench-1", "bench-2", "bench-3")
PLATFORMS = ("host", "docker-host", "docker-bridge", "vm")
FAMILIES = ("cpu", "memory", "disk", "network", "services")
# ~50 cases of 4 metrics each, as default.toml: 50 x 4 platforms x 4 metrics x 7 rounds.
METRICS: list[Metric] = [
    (f"{FAMILIES[c % 5]}-case{c}", FAMILIES[c % 5], name, unit, hib)
    for c in range(50)
    for name, unit, hib in (
        ("rate", "ops/s", True),
        ("latency p50", "us", False),
        ("latency p99", "us", False),
        ("latency mean", "us", False),
    )
]


def first_nights(root: Path) -> list[Path]:
    runs = []
    for i, machine in enumerate(MACHINES):
        path = root / machine / "0365_nightly.json"
        write_run(
            path, PLATFORMS, 7, noisy({"vm": 1.3, "docker-bridge": 1.05}, seed=i), METRICS,
            date="2026-11-28T02:17:00+00:00",
            machine={"session": f"{20260101000000 + i}-{i:06x}", "kernel": f"6.1.0-{i}", "scenario": "default"},
        )  # fmt: skip
        doc = json.loads(path.read_text())
        doc["machine_info"]["node"] = machine
        path.write_text(json.dumps(doc))
        runs.append(path)
    return runs


COPY_RUNS = """
INSERT INTO runs (session, name, machine, env, started, commit, scenario, partial, samples,
                  machine_info, platforms)
SELECT o.session || '-' || k, lpad((365 - k)::text, 4, '0') || '_nightly', o.machine, o.env,
       o.started - k * interval '1 day', o.commit, o.scenario, o.partial, o.samples,
       o.machine_info, o.platforms
FROM runs o, generate_series(1, %(nights)s - 1) k
"""
NOISY = {"value": "s.value * (0.95 + random() * 0.1)"}
# The column table's own names, never input.
COPY_SAMPLES = (
    f"INSERT INTO samples (run_id, {', '.join(STORED)})\n"
    f"SELECT n.id, {', '.join(NOISY.get(c, f's.{c}') for c in STORED)}\n"
    "FROM runs o JOIN runs n ON n.session LIKE o.session || '-%%' JOIN samples s ON s.run_id = o.id\n"
    "WHERE o.session NOT LIKE '%%-%%'"
)
COPY_COSTS = """
INSERT INTO run_costs
SELECT n.id, c.family, c.label, c.cost * (0.97 + random() * 0.06)
FROM runs o JOIN runs n ON n.session LIKE o.session || '-%%' JOIN run_costs c ON c.run_id = o.id
WHERE o.session NOT LIKE '%%-%%'
"""


def main() -> None:
    with TemporaryDirectory() as tmp, postgres() as url:
        with psycopg.connect(url) as conn:
            publish(conn, first_nights(Path(tmp)))
            started = time.monotonic()
            conn.execute(COPY_RUNS, {"nights": NIGHTS})
            conn.execute(COPY_SAMPLES)
            conn.execute(COPY_COSTS)
            conn.commit()
            conn.execute("ANALYZE")
            runs, samples = conn.execute(
                "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM samples)"
            ).fetchone() or (0, 0)
        print(f"store: {runs} runs, {samples} samples ({time.monotonic() - started:.0f} s to copy)")
        out = Path(tmp) / "fleet.html"
        argv = [sys.executable, "-m", "triptych.cli", "report", "--store", url, "-o", str(out)]
        for attempt in range(3):
            t = time.monotonic()
            subprocess.run(argv, check=True, capture_output=True)
            print(
                f"triptych report --store (whole command) {attempt + 1}: {time.monotonic() - t:.2f} s"
            )
        html = out.read_text()
        fleet = 'id="fleet"' in html
        print(f"report: {len(html) // 1024} KiB, fleet table: {fleet}")


if __name__ == "__main__":
    main()
