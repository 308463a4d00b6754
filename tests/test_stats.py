"""The statistics where the truth is known: planted effects, unchanged systems in simulation,
interval coverage, and the multiplicity corrections against hand-computed values."""

from __future__ import annotations

import math
from itertools import combinations_with_replacement

import numpy as np
import pytest
from scipy.stats import binomtest, multinomial, norm

from triptych.verdict.effect import (
    FASTER,
    SAME,
    SLOWER,
    UNDETERMINED,
    UNTESTABLE,
    could_detect,
    describe,
)
from triptych.verdict.stats import (
    ALPHA,
    MARGIN,
    adjust,
    adjusted,
    beyond_p,
    compare,
    decide,
    welch_log,
)

# Round-to-round coefficients of variation seen within real quick runs on this machine kind
# (tests/data/run-quick-all-platforms.json): CPU ~1%, memory ~3%, disk and network 5-15%.
SPREADS = (0.01, 0.03, 0.05, 0.10, 0.15)
METRICS_PER_RUN = 150


def lognormal(rng: np.random.Generator, median: float, cv: float, n: int) -> np.ndarray:
    return median * np.exp(rng.normal(0, cv, n))


def test_planted_2x_slowdown_is_2x_slower_with_an_interval_that_covers_it() -> None:
    rng = np.random.default_rng(7)
    host, slow = lognormal(rng, 1000, 0.03, 5), lognormal(rng, 2000, 0.03, 5)
    (latency,) = decide([compare(slow, host, higher_is_better=False)])
    assert latency.verdict == SLOWER
    assert latency.cost == pytest.approx(2.0, rel=0.05)
    assert latency.low <= 2.0 <= latency.high
    # The same slowdown of a throughput: half the events/s, also 2x slower.
    (throughput,) = decide([compare(1e6 / slow, 1e6 / host, higher_is_better=True)])
    assert throughput.verdict == SLOWER
    assert throughput.cost == pytest.approx(latency.cost)
    assert describe(throughput).startswith("2.0")
    assert "x slower (" in describe(throughput)


def test_a_large_steady_effect_at_3_rounds_survives_150_comparisons() -> None:
    # TCG emulation: 5x the host's time per event, rounds steady to 3%. A rank test of 3 vs 3
    # can never go below p = 0.1; this must be a finding even among 149 null comparisons.
    rng = np.random.default_rng(3)
    comps = [
        compare(lognormal(rng, 100, 0.03, 3), lognormal(rng, 100, 0.03, 3), True)
        for _ in range(149)
    ]
    comps.append(compare(lognormal(rng, 20, 0.03, 3), lognormal(rng, 100, 0.03, 3), True))
    effects = decide(comps)
    assert effects[-1].verdict == SLOWER
    assert effects[-1].cost == pytest.approx(5.0, rel=0.1)
    assert not any(e.finding for e in effects[:-1])


def simulated_findings(rounds: int, nights: int, effect: float, seed: int) -> np.ndarray:
    """Per simulated run, whether the report's rule (Welch on logs, beyond the 2% margin,
    Benjamini-Hochberg over the run) calls any metric slower or faster. The first metric of each
    run carries `effect` (a cost; 1.0: unchanged); spreads cycle through SPREADS. The same
    welch_log / beyond_p / adjust the report uses, on arrays of nights x metrics x rounds."""
    rng = np.random.default_rng(seed)
    cv = np.resize(np.array(SPREADS), METRICS_PER_RUN)[None, :, None]
    host = rng.normal(0, 1, (nights, METRICS_PER_RUN, rounds)) * cv
    other = rng.normal(0, 1, (nights, METRICS_PER_RUN, rounds)) * cv
    other[:, 0, :] += math.log(effect)
    d, se, df = welch_log(np.exp(other), np.exp(host))
    return adjust(beyond_p(d, se, df, MARGIN), "fdr") < ALPHA


@pytest.mark.parametrize("rounds", [3, 5, 7])
def test_unchanged_runs_almost_never_report_a_finding(rounds: int) -> None:
    """2000 simulated runs of an unchanged platform, 150 comparisons each: the share of runs
    with any finding stays under 5% at the upper end of its 95% interval."""
    nights = 2000
    with_finding = int(simulated_findings(rounds, nights, 1.0, rounds).any(axis=1).sum())
    upper = binomtest(with_finding, nights).proportion_ci(0.95).high
    assert upper <= 0.05, (with_finding, nights)


@pytest.mark.parametrize(("rounds", "cost", "least_power"), [(3, 1.5, 0.8), (7, 1.15, 0.8)])
def test_real_effects_are_found(rounds: int, cost: float, least_power: float) -> None:
    """Power on the noisiest spread the metric can have here is reported in the notes; this
    checks a 1% CPU-like spread: 1.5x at 3 rounds and 1.15x at 7 are found 80% of the time."""
    found = simulated_findings(rounds, 2000, cost, 50 + rounds)[:, 0]
    assert found.mean() >= least_power, found.mean()


@pytest.mark.parametrize("rounds", [3, 5, 7])
def test_interval_coverage_is_nominal(rounds: int) -> None:
    rng = np.random.default_rng(100 + rounds)
    trials, covered = 4000, 0
    for i in range(trials):
        cv = SPREADS[i % len(SPREADS)]
        true_cost = 1.3
        a = lognormal(rng, 100 * true_cost, cv, rounds)
        b = lognormal(rng, 100, cv, rounds)
        low, high = compare(a, b, higher_is_better=False).interval()
        covered += low <= true_cost <= high
    # 95% nominal (Welch's df make it slightly conservative at 3 rounds: ~96.5%); 4000 trials
    # put the estimate within about +-0.7 points of the truth.
    assert 0.935 <= covered / trials <= 0.975


def test_the_same_within_the_margin_and_undetermined() -> None:
    rng = np.random.default_rng(5)
    steady = compare(lognormal(rng, 100, 0.002, 7), lognormal(rng, 100, 0.002, 7), True)
    noisy = compare(lognormal(rng, 100, 0.20, 3), lognormal(rng, 100, 0.20, 3), True)
    same, unknown = decide([steady, noisy])
    assert same.verdict == SAME
    assert describe(same).startswith("the same within 2%")
    assert unknown.verdict == UNDETERMINED
    assert unknown.detectable > 1.3  # 3 noisy rounds could not have shown a 30% cost
    shown = describe(unknown)
    assert ("too noisy to detect anything under" in shown) == (unknown.detectable >= 2)
    assert "it could have detected" in shown or "too noisy" in shown


@pytest.mark.parametrize(
    ("detectable", "said"),
    [
        (21315.01, "; too noisy to detect anything under 100x: add set-ups"),
        (64.2, "; too noisy to detect anything under 64x: add set-ups"),
        (2.0, "; too noisy to detect anything under 2x: add set-ups"),
        (1.35, "; it could have detected 1.35x slower or more"),
        (float("inf"), "; too noisy to detect anything under 100x: add set-ups"),
    ],
)
def test_what_could_have_been_detected_is_bounded_and_plain(detectable: float, said: str) -> None:
    assert could_detect(detectable) == said


def test_what_cannot_be_tested_says_so() -> None:
    (one,) = decide([compare([5.0], [4.0, 4.1], True)])
    assert one.verdict == UNTESTABLE
    (zero,) = decide([compare([0.0, 0.0], [1.0, 1.1], True)])
    assert zero.verdict == UNTESTABLE


def test_identical_constant_rounds_with_ties_are_handled() -> None:
    # fio percentiles repeat (histogram buckets): ties and even zero spread on both sides.
    (tied,) = decide([compare([7.0, 7.0, 7.0], [5.0, 5.0, 5.0], higher_is_better=False)])
    assert tied.verdict == SLOWER
    assert tied.cost == pytest.approx(1.4)
    (equal,) = decide([compare([5.0, 5.0, 5.0], [5.0, 5.0, 5.0], True)])
    assert equal.verdict == SAME


def test_faster_is_the_mirror_of_slower() -> None:
    rng = np.random.default_rng(9)
    (fast,) = decide([compare(lognormal(rng, 50, 0.02, 5), lognormal(rng, 100, 0.02, 5), False)])
    assert fast.verdict == FASTER
    assert describe(fast).startswith("2.0")
    assert "x faster" in describe(fast)


def test_multiplicity_corrections_against_hand_computed_values() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # Benjamini-Hochberg: sorted 0.005, 0.01, 0.03, 0.04 -> x 4/1, 4/2, 4/3, 4/4 = 0.02, 0.02,
    # 0.04, 0.04, made monotone from the top.
    assert adjusted(p, "fdr") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # Holm: x 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running maximum 0.02, 0.03, 0.06, 0.06.
    assert adjusted(p, "fwer") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjusted([], "fdr") == []
    assert math.isclose(adjusted([0.9, 0.9], "fwer")[0], 1.0)


@pytest.mark.parametrize("spread_in_buckets", [0.5, 1.0, 2.0])
def test_tied_rounds_by_brute_force_enumeration(spread_in_buckets: float) -> None:
    """fio reports percentiles as histogram buckets (64 per power of two: values 1/64 apart),
    so rounds tie. Every outcome of 3 vs 3 rounds of an unchanged metric, bucketed, is
    enumerated with its exact probability: the chance the report's rule (Welch on logs, beyond
    the 2% margin, one comparison) calls it slower or faster stays within alpha."""
    h = math.log1p(1 / 64)  # one bucket, on the log scale
    sigma = spread_in_buckets * h
    reach = math.ceil(5 * sigma / h) + 1
    buckets = np.arange(-reach, reach + 1)
    edges = (buckets[:, None] + np.array([-0.5, 0.5])) * h
    prob = norm.cdf(edges[:, 1], 0, sigma) - norm.cdf(edges[:, 0], 0, sigma)
    prob /= prob.sum()
    sides = list(combinations_with_replacement(range(buckets.size), 3))
    p_side = np.array(
        [multinomial.pmf(np.bincount(s, minlength=buckets.size), 3, prob) for s in sides]
    )
    logs = buckets[np.array(sides)] * h  # (outcomes, 3)
    a = np.repeat(logs, len(sides), axis=0)
    b = np.tile(logs, (len(sides), 1))
    weight = np.outer(p_side, p_side).ravel()
    assert weight.sum() == pytest.approx(1.0, abs=1e-6)
    d, se, df = welch_log(np.exp(a), np.exp(b))
    finding = beyond_p(d, se, df, MARGIN) < ALPHA
    size = float(weight[finding].sum())
    assert size <= ALPHA, size
