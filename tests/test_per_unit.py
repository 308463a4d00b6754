"""pytest-benchmark's stats as time per unit of work, against figures computed by hand."""

from __future__ import annotations

import pytest

from triptych.per_unit import describe_measure, per_round, seconds_per_unit
from triptych.record import rounds_from_samples
from triptych.sample import Sample


@pytest.mark.parametrize(
    ("value", "unit", "higher", "expected"),
    [
        (5000.0, "events/s", True, 0.0002),  # 1 / 5000
        (250_000.0, "IOPS", True, 0.000004),  # 1 / 250000
        (40.0, "Gbit/s", True, 0.025),  # 1 / 40
        (812.5, "us", False, 0.0008125),  # a latency as itself, in seconds
        (3.0, "ms", False, 0.003),
        (1.5, "s", False, 1.5),
        (120.0, "ns", False, 1.2e-7),
    ],
)
def test_rates_become_seconds_per_unit_and_times_stay_times(
    value: float, unit: str, higher: bool, expected: float
) -> None:
    assert seconds_per_unit(value, unit, higher) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "unit", "higher"),
    [
        (0.0, "events/s", True),  # no rate: nothing per unit
        (12.0, "count", False),  # neither a rate nor a time
        (3.0, "%", True),
        (-1.0, "us", False),
    ],
)
def test_what_is_neither_a_rate_nor_a_time_has_no_figure(
    value: float, unit: str, higher: bool
) -> None:
    assert seconds_per_unit(value, unit, higher) is None


def _s(metric: str, value: float, unit: str, rnd: int) -> Sample:
    return Sample(metric, value, unit, unit.endswith("/s"), metadata={"round": rnd})


def test_one_figure_per_round_in_round_order() -> None:
    samples = [
        _s("rate", 2000.0, "events/s", 1),
        _s("rate", 1000.0, "events/s", 0),
        _s("other", 7.0, "events/s", 0),
        _s("rate", 4000.0, "events/s", 2),
    ]
    assert per_round(rounds_from_samples(samples), "rate") == pytest.approx(
        [0.001, 0.0005, 0.00025]
    )
    # Two figures in one round, or a round without a convertible one: no per-round series.
    two = rounds_from_samples([*samples, _s("rate", 10.0, "events/s", 2)])
    assert per_round(two, "rate") is None
    assert per_round(rounds_from_samples([_s("n", 3.0, "count", 0)]), "n") is None
    assert per_round(rounds_from_samples(samples), "missing") is None


def test_the_record_says_what_the_stats_are() -> None:
    assert describe_measure("cpu events", "events/s", True) == (
        "seconds per unit of cpu events (1 / events/s); OPS is events/s"
    )
    assert describe_measure("latency p99", "us", False) == "latency p99 in seconds (from us)"
