"""Change points over a metric's nightly series (gate/changepoint.py, gate/series.py): the
split statistic against scipy's t-test, a step found where it is and a lone wild night not
taken for one, and by simulation from this machine's measured spreads (tests/data/history),
through the code the gate runs: how often unchanged nights alarm, Gaussian and Student-t(3)
night effects alike, and how soon a step is caught."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st
from scipy.stats import binomtest

from tests.gate_sim import (
    CASE,
    HISTORY,
    PLATFORM,
    Spreads,
    caught_within_three_nights,
    copied_spreads,
    night,
)
from triptych.gate import WINDOW
from triptych.gate.changepoint import (
    MIN_SEGMENT,
    _z_by_split,
    permutations_for,
    step,
    winsorized,
)
from triptych.gate.compare import DEFAULT_THRESHOLD, Sides
from triptych.gate.history import newest_against_history
from triptych.gate.memory import History
from triptych.gate.series import decided, oriented, shifts, worse
from triptych.results.load import load_runs

ROUNDS = 3
REPLAYED = 30  # a month of real nights: fewer than the window, which the gate reads as it is


def test_the_split_statistic_orders_splits_as_the_pooled_t_test() -> None:
    """The standardized step of each split is scipy's pooled t of that split, through the one
    increasing function of the nights' total sum of squares (the same for every order)."""
    rng = np.random.default_rng(1)
    for x in (rng.normal(size=20), rng.standard_t(3, size=31)):
        n = x.size
        z = _z_by_split(x[None, :], MIN_SEGMENT)[0]
        ss = float(np.sum((x - x.mean()) ** 2))
        for i, k in enumerate(range(MIN_SEGMENT, n - MIN_SEGMENT + 1)):
            expected = st.ttest_ind(x[k:], x[:k], equal_var=True).statistic
            assert z[i] / math.sqrt((ss - z[i] ** 2) / (n - 2)) == pytest.approx(expected)


def test_a_step_is_found_where_it_is() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(0, 0.05, size=30)
    x[22:] += 0.3  # a 1.35x step, 8 nights ago: worse where lower is better
    found = step(x, higher_is_better=False)
    assert found is not None
    assert found.at == 22
    assert found.shift == pytest.approx(0.3, abs=0.05)
    assert found.p < 0.001
    assert oriented(found, higher_is_better=False) == pytest.approx(np.exp(found.shift))
    # The same series gives the same p-value on every rerun (seeded by the series).
    assert step(x, higher_is_better=False) == found
    # The same step where higher is better is for the better: no regression, however clear.
    better = step(x, higher_is_better=True)
    assert better is not None
    assert better.p > 0.5


def test_a_single_wild_night_is_rarely_a_step() -> None:
    """One night 20 standard deviations out for the worse is clipped. In the earlier nights it
    is no step for the worse at all; among tonight's three newest nights, where it can pass
    for one, it opens a regression (Holm over a quick run's 48 primary metrics) in at most 4%
    of series (measured 2.3% of 600 at the 60-night window, 0.7% at 30: the two nights beside
    it were high as well, which the longer window's random orders make as rare as a real
    step's three nights), where a real 1.4x step at twice the noise is found 3 nights in on
    89-90% (test below)."""
    rng = np.random.default_rng(3)
    base = rng.normal(0, 0.05, size=WINDOW)
    for at in (0, 14, 40):
        x = base.copy()
        x[at] += 1.0
        assert winsorized(x)[at] < 0.5
        found = step(x, higher_is_better=False)
        assert found is not None
        assert found.p > 0.05, at
    opened = 0
    for i in range(600):
        x = np.random.default_rng(100 + i).normal(0, 0.05, size=WINDOW)
        x[WINDOW - 3 + i % 3] += 1.0
        found = step(x, higher_is_better=False, permutations=permutations_for(48))
        assert found is not None
        opened += found.p * 48 < 0.05
    assert opened <= 24, opened


def test_the_p_value_is_uniform_when_nothing_changed() -> None:
    """The sequential p-value (drawing stops after 20 orders reach the statistic) is still a
    p-value: over 1000 unchanged series of 30 Gaussian nights, P(p <= u) is u within three
    binomial standard errors at u = 0.05, 0.2 and 0.5."""
    p = np.array(
        [
            found.p
            for i in range(1000)
            if (found := step(np.random.default_rng(7000 + i).normal(size=30), False))
        ]
    )
    assert p.size == 1000
    for u in (0.05, 0.2, 0.5):
        share = float(np.mean(p <= u))
        assert abs(share - u) <= 3 * math.sqrt(u * (1 - u) / p.size), (u, share)


def test_a_large_family_gets_enough_orders_to_reach_its_level() -> None:
    """A tall step on the newest three of 60 nights: its exact p-value is about 1/C(60, 3)
    (3e-5). With 4999 orders it cannot go under 1/5000, above what Holm asks of 500 metrics
    (1e-4); with the orders for a family of 500 it does."""
    x = np.random.default_rng(8).normal(0, 0.05, size=WINDOW)
    x[-3:] += 1.0
    few = step(x, higher_is_better=False, permutations=4999)
    enough = step(x, higher_is_better=False, permutations=permutations_for(500))
    assert few is not None
    assert enough is not None
    assert few.p >= 1 / 5000 > 0.05 / 500
    assert enough.p < 0.05 / 500
    assert permutations_for(500) == 200_000
    assert permutations_for(1) == 4999


def test_too_few_nights_are_not_tested() -> None:
    assert step(np.zeros(2 * MIN_SEGMENT - 1), higher_is_better=True) is None
    (only,) = decided([np.arange(5.0)], [True])
    assert only[0] is None


def test_a_step_in_real_runs_is_found_from_its_first_night(tmp_path: Path) -> None:
    """A month of nights replayed from the six real unchanged runs, the last four with sysbench
    in a container 1.3x slower: the series test names the step's first night and its four
    nights, and nothing else (the real runs' own night-to-night noise is all the rest has)."""
    real = sorted(p.name for p in HISTORY.glob("*.json"))
    first = datetime(2026, 11, 1, 2, tzinfo=UTC)
    for i in range(REPLAYED):
        date = (first + timedelta(days=i)).isoformat()
        night(real[i % len(real)], tmp_path / f"{i + 1:04d}_n{i + 1}.json", date,
              1.3 if i >= REPLAYED - 4 else 1.0)  # fmt: skip
    base, cur, _, newest = newest_against_history(load_runs([tmp_path]), REPLAYED - 1)
    history = History.of(base, cur)
    found = shifts(Sides.of(base, cur), [], history, newest, {})
    assert len(found) > 40  # every case's primary metric on every platform was tested
    worse_ones = [s for s in found if s.regression]
    assert {(s.key[0], s.key[2]) for s in worse_ones} == {(CASE, PLATFORM)}
    (s,) = worse_ones
    assert s.first_run == "0027_n27"
    assert s.last_good == "0026_n26"
    assert s.nights == ("0027_n27", "0028_n28", "0029_n29", "0030_n30")
    assert s.cost == pytest.approx(1.3, rel=0.05)


# ---- simulation from the spreads this machine measured ----


@pytest.fixture(scope="module")
def spreads(tmp_path_factory: pytest.TempPathFactory) -> Spreads:
    return copied_spreads(tmp_path_factory, HISTORY)


Effects = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def gaussian(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def t3(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    out: np.ndarray = rng.standard_t(3, shape) / np.sqrt(3.0)  # unit variance, heavy tails
    return out


def primaries(spreads: Spreads, every: int = 3) -> np.ndarray:
    """A night's tested metrics: every third one measured (about as many as a quick run has
    primary metrics: one per case and platform)."""
    return np.arange(0, len(spreads.keys), every)


def nights(
    spreads: Spreads, pick: np.ndarray, n: int, effects: Effects, rng: np.random.Generator
) -> np.ndarray:
    """(metrics, nights) of night means in logs: a night effect of the metric's run-to-run
    spread plus the mean of ROUNDS rounds of its round spread, each drawn from `effects`."""
    between = spreads.between[pick][:, None]
    within = spreads.within[pick][:, None]
    night = effects(rng, (pick.size, n)) * between
    rounds = effects(rng, (pick.size, n, ROUNDS)).mean(axis=-1) * within
    out: np.ndarray = night + rounds
    return out


def alarms(values: np.ndarray, hib: np.ndarray, margin: float = 0.05) -> bool:
    """Whether the gate's rule opens any regression on this night (gate/series.py)."""
    out = decided(list(values), [bool(h) for h in hib])
    return any(
        s is not None and worse(p, oriented(s, bool(h)), margin)
        for (s, p), h in zip(out, hib, strict=True)
    )


SIM_NIGHTS = 200


@pytest.mark.slow
@pytest.mark.parametrize("effects", [gaussian, t3], ids=["gaussian", "t3"])
def test_unchanged_nights_rarely_alarm(spreads: Spreads, effects: Effects) -> None:
    """At most 5% of unchanged nights alarm on any metric (each night tests its 60-night window
    afresh), with heavy-tailed nights as with Gaussian ones (measured 4 and 9 of 200)."""
    rng = np.random.default_rng(10)
    pick = primaries(spreads)
    hib = spreads.higher_is_better[pick]
    fired = sum(alarms(nights(spreads, pick, WINDOW, effects, rng), hib) for _ in range(SIM_NIGHTS))
    # Above 5% only if the binomial test says so at 1%: the permutation test is exact.
    assert binomtest(fired, SIM_NIGHTS, 0.05, alternative="greater").pvalue > 0.01, fired
    print(f"{effects.__name__}: {fired} of {SIM_NIGHTS} unchanged nights alarmed")


@pytest.mark.slow
@pytest.mark.parametrize("effects", [gaussian, t3], ids=["gaussian", "t3"])
def test_a_lasting_step_is_caught_within_a_few_nights(spreads: Spreads, effects: Effects) -> None:
    """Every tested metric 1.5x worse for the last 5 of the window's nights: caught on most
    metric-nights (96% measured at 60 nights, 93-95% at 30), where one night alone needs about
    2x (the single-night gate's figures)."""
    rng = np.random.default_rng(11)
    pick = primaries(spreads)
    hib = spreads.higher_is_better[pick]
    caught = 0
    trials = 30
    for _ in range(trials):
        x = nights(spreads, pick, WINDOW, effects, rng)
        x[:, WINDOW - 5 :] += np.where(hib, -1.0, 1.0)[:, None] * np.log(1.5)
        out = decided(list(x), [bool(h) for h in hib])
        caught += sum(
            s is not None and worse(p, oriented(s, bool(h)), 0.05)
            for (s, p), h in zip(out, hib, strict=True)
        )
    share = caught / (trials * pick.size)
    print(f"{effects.__name__}: 1.5x after 5 nights caught on {share:.0%} of metric-nights")
    assert share > 0.8


STEP_TRIALS = 300


@pytest.mark.slow
@pytest.mark.parametrize("effects", [gaussian, t3], ids=["gaussian", "t3"])
def test_steps_are_caught_within_three_nights(spreads: Spreads, effects: Effects) -> None:
    """Issue 23's item 7, per metric at a night's size of Holm family (the primary metrics of a
    quick run), over the default 60-night window: a 1.08x step at 1% night-to-night noise
    caught within three nights at least 95% of the time, and 1.4x at 10% at least 80%
    (measured over 600 series, Gaussian / t(3): 100% / 100% and 90% / 89%; at a 30-night
    window 1.4x was caught on 74% / 80%: README)."""
    metrics = primaries(spreads).size
    rng = np.random.default_rng(12)

    def spread(noise: float) -> Callable[[int], np.ndarray]:
        return lambda n: effects(rng, (n,)) * noise

    def caught(cost: float, noise: float) -> float:
        shift, margin = math.log(cost), DEFAULT_THRESHOLD
        return caught_within_three_nights(
            spread(noise), shift, WINDOW, metrics, STEP_TRIALS, margin
        )

    quiet = caught(1.08, 0.01)
    noisy = caught(1.4, 0.10)
    print(f"{effects.__name__}: caught within 3 nights: 1.08x at 1% {quiet:.0%}, "
          f"1.4x at 10% {noisy:.0%}")  # fmt: skip
    assert quiet >= 0.95
    assert noisy >= 0.8
