"""The services' parsers against output captured from the real tools (tests/data): redis-benchmark
7.0 --csv, wrk 4.1 with the suite's done() hook, pgbench 15 with its per-transaction logs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triptych.errors import ParseError
from triptych.workloads.nginx import NginxParams, parse_wrk
from triptych.workloads.postgres import PgbenchParams, parse_pgbench
from triptych.workloads.redis import RedisParams, parse_redis_csv


def by_metric(samples: list) -> dict:  # type: ignore[type-arg]
    return {s.metric: s for s in samples}


def test_redis_benchmark_csv(data: Path) -> None:
    text = (data / "redis-benchmark.csv").read_text()
    m = by_metric(parse_redis_csv(text, RedisParams(connections=8), 20000))
    # The captured rows: SET 49261.09 rps, p50 0.095 ms, p99 0.263 ms; GET 61162.08 rps.
    assert m["set rate"].value == pytest.approx(49261.09)
    assert m["get rate"].value == pytest.approx(61162.08)
    assert m["set latency p50"].value == pytest.approx(95.0)
    assert m["set latency p99"].value == pytest.approx(263.0)
    assert m["get latency mean"].value == pytest.approx(80.0)
    assert m["get latency p99"].value == pytest.approx(231.0)
    assert m["get rate"].higher_is_better
    assert not m["get latency p99"].higher_is_better
    assert m["get rate"].unit == "requests/s"
    assert m["get latency p50"].unit == "us"
    assert m["get rate"].metadata["connections"] == 8
    assert m["get rate"].metadata["requests"] == 20000


def test_redis_benchmark_pipelined_csv(data: Path) -> None:
    text = (data / "redis-benchmark-pipelined.csv").read_text()
    m = by_metric(parse_redis_csv(text, RedisParams(connections=8, pipeline=16), 50000))
    assert m["set rate"].value == pytest.approx(877193.0)
    assert m["get latency p99"].value == pytest.approx(3679.0)
    assert m["set rate"].metadata["pipeline"] == 16


def test_redis_benchmark_without_a_get_row_says_so(data: Path) -> None:
    text = (data / "redis-benchmark.csv").read_text().splitlines()
    with pytest.raises(ParseError, match="no CSV row for GET"):
        parse_redis_csv("\n".join(text[:2]), RedisParams(), 1000)
    with pytest.raises(ParseError, match="no CSV row"):
        parse_redis_csv(
            "Could not connect to Redis at 127.0.0.1:16379: Connection refused", RedisParams(), 1000
        )


def test_wrk_done_hook_json(data: Path) -> None:
    m = by_metric(parse_wrk((data / "wrk-latency.txt").read_text(), NginxParams(connections=8)))
    # wrk's own summary in the same capture: "Requests/sec: 51425.42"; the hook: 103165 requests
    # in 2006109 us, p50 142 us, p99 1869 us (wrk's table: 142.00us and 1.87ms).
    assert m["request rate"].value == pytest.approx(51425.42, rel=1e-4)
    assert m["latency p50"].value == 142
    assert m["latency p99"].value == 1869
    assert m["latency p99.9"].value == 4800
    assert m["errors"].value == 0
    assert m["request rate"].metadata["file_bytes"] == 1024


def test_wrk_refuses_a_rate_of_error_responses(data: Path) -> None:
    with pytest.raises(ParseError, match="69029 of 69029 responses were not 2xx or 3xx"):
        parse_wrk((data / "wrk-404.txt").read_text(), NginxParams())


def test_wrk_without_the_hook_line() -> None:
    with pytest.raises(ParseError, match="no JSON line"):
        parse_wrk("unable to connect to 127.0.0.1:18080 Connection refused\n", NginxParams())


def _logs(directory: Path) -> list[str]:
    return [f.read_text() for f in sorted(directory.glob("round.*"))]


@pytest.mark.parametrize(
    ("name", "tps", "threads"),
    [("tpcb-like", 1558.001321, 2), ("select-only", 11650.937901, 1)],
)
def test_pgbench_with_its_transaction_logs(data: Path, name: str, tps: float, threads: int) -> None:
    output = (data / f"pgbench-{name}.txt").read_text()
    logs = _logs(data / f"pgbench-{name}-log")
    assert len(logs) == threads  # one log per pgbench thread, all of them read
    m = by_metric(parse_pgbench(output, logs, PgbenchParams(connections=2, mode=name)))
    assert m["transaction rate"].value == pytest.approx(tps)
    # Independently of the parser: numpy's inverted-CDF quantile is the nearest rank.
    lat = np.array([float(line.split()[2]) for text in logs for line in text.splitlines()])
    assert m["latency p50"].value == np.quantile(lat, 0.5, method="inverted_cdf")
    assert m["latency p99"].value == np.quantile(lat, 0.99, method="inverted_cdf")
    assert m["latency mean"].value == pytest.approx(lat.mean())
    assert m["transaction rate"].metadata["transactions_logged"] == len(lat)
    assert m["failed transactions"].value == 0


def test_pgbench_mean_agrees_with_pgbench_own_average(data: Path) -> None:
    """pgbench prints 'latency average = 1.284 ms' (clients x duration / transactions): the
    log's mean must be close to it, or the log was misread."""
    output = (data / "pgbench-tpcb-like.txt").read_text()
    m = by_metric(parse_pgbench(output, _logs(data / "pgbench-tpcb-like-log"), PgbenchParams()))
    assert m["latency mean"].value == pytest.approx(1284, rel=0.1)


def test_pgbench_errors() -> None:
    with pytest.raises(ParseError, match="no 'tps = "):
        parse_pgbench(
            'pgbench: error: connection to server at "127.0.0.1" failed', [], PgbenchParams()
        )
    with pytest.raises(ParseError, match="transaction log is empty"):
        parse_pgbench("tps = 12.5 (without initial connection time)\n", [], PgbenchParams())
    with pytest.raises(ParseError, match="is not 6 fields"):
        parse_pgbench(
            "tps = 12.5 (without initial connection time)\n", ["0 1 731\n"], PgbenchParams()
        )
