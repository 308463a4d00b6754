"""Redis: `redis-server` (persistence off) on the platform, `redis-benchmark --csv` on the host,
SET then GET; each round sized to last about `duration` from the rate the last run reached."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from triptych.errors import ParseError
from triptych.platforms.base import Endpoint, Platform
from triptych.process import CommandResult
from triptych.sample import MetaValue, Sample
from triptych.validate import setting
from triptych.workloads.base import RunSpec, number
from triptych.workloads.server import answered
from triptych.workloads.service import ServiceWorkload

REDIS_PORT = 16379
TESTS = ("SET", "GET")
FIRST_RATE = 2000.0  # requests/s assumed before any run measured one (a short first run)
MIN_REQUESTS, MAX_REQUESTS = 1000, 50_000_000
CONNECTIONS_HINT = "connections = 50 (or a list to sweep, like [1, 8, 32])"


@dataclass(frozen=True)
class RedisParams:
    connections: int = setting(50, low=1, high=10_000, hint=CONNECTIONS_HINT)
    pipeline: int = setting(1, low=1, high=1000, hint="pipeline = 1 (16: pipelined requests)")
    value_size: int = setting(50, low=1, high=1_048_576, hint="value_size = 50 (bytes)")


class RedisBenchmark(ServiceWorkload):
    """SET and GET requests/s and latency percentiles, redis-benchmark's own."""

    name: ClassVar[str] = "redis"
    tool: ClassVar[str] = "redis-benchmark"
    primary_metric: ClassVar[str] = "get rate"
    Params: ClassVar[type[RedisParams]] = RedisParams
    params: RedisParams
    port: ClassVar[int] = REDIS_PORT

    def __init__(self, params: Any, spec: RunSpec) -> None:  # noqa: ANN401
        super().__init__(params, spec)
        self.rate = FIRST_RATE
        self._requests = MIN_REQUESTS

    def request(self, endpoint: Endpoint, client_dir: Path) -> str | None:
        # -e: an error reply (LOADING while it starts) is a failure, not an answer.
        return answered(["redis-cli", "-e", "-h", endpoint.host, "-p", str(endpoint.port), "PING"])

    def requests(self, run: RunSpec) -> int:
        """Requests per test so that SET and GET together take about `duration`."""
        n = int(self.rate * run.duration / len(TESTS))
        return max(MIN_REQUESTS, min(MAX_REQUESTS, n))

    def server_argv(self, platform: Platform, directory: str) -> list[str]:
        return [
            "redis-server",
            "--port", str(self.port),
            "--bind", platform.listen_host(),
            "--protected-mode", "no",
            "--save", "",
            "--appendonly", "no",
            "--dir", directory,
            "--daemonize", "no",
            "--maxclients", str(self.params.connections + 32),
        ]  # fmt: skip

    def client_argv(self, endpoint: Endpoint, client_dir: Path, run: RunSpec) -> list[str]:
        self._requests = self.requests(run)  # what this run asks for, as parse_round reads it
        p = self.params
        return [
            "redis-benchmark",
            "-h", endpoint.host,
            "-p", str(endpoint.port),
            "-c", str(p.connections),
            "-n", str(self._requests),
            "-d", str(p.value_size),
            "-P", str(p.pipeline),
            "-t", ",".join(t.lower() for t in TESTS),
            "--csv",
        ]  # fmt: skip

    def parse_round(self, result: CommandResult, client_dir: Path) -> list[Sample]:
        samples = parse_redis_csv(result.stdout, self.params, self._requests)
        rates = [s.value for s in samples if s.metric.endswith(" rate")]
        self.rate = min(rates)
        return samples


def parse_redis_csv(output: str, p: RedisParams, requests: int) -> list[Sample]:
    """redis-benchmark 7's CSV: one row per test with rps and latency figures in ms."""
    rows = list(csv.DictReader(io.StringIO(output.strip())))
    by_test = {r.get("test", ""): r for r in rows}
    missing = [t for t in TESTS if t not in by_test]
    if missing:
        raise ParseError(
            "redis-benchmark",
            f"no CSV row for {', '.join(missing)} (redis-benchmark 7 --csv)",
            output,
        )
    meta: dict[str, MetaValue] = {
        "connections": p.connections,
        "pipeline": p.pipeline,
        "value_size": p.value_size,
        "requests": requests,
    }
    samples: list[Sample] = []
    for test in TESTS:
        row, op = by_test[test], test.lower()
        rate = number("redis-benchmark", output, row.get("rps"), f"{test} rps")
        samples.append(Sample(f"{op} rate", rate, "requests/s", True, metadata=meta))
        for column, label in (("avg", "mean"), ("p50", "p50"), ("p99", "p99")):
            key = f"{column}_latency_ms"
            ms = number("redis-benchmark", output, row.get(key), f"{test} {key}")
            samples.append(Sample(f"{op} latency {label}", ms * 1000, "us", False, metadata=meta))
    return samples
