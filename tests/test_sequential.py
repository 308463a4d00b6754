"""Sequential set-ups (verdict/sequential.py): the widening by hand, the ledger's decisions on
planted data, and by simulation the report's intervals and verdicts after it.

The simulation draws each side's figures from the components the nested study measured
(tests/data/nested, per family: round, set-up and run sd), with Gaussian and Student-t(3)
terms: a run term shared by every set-up of a side in one run (what no set-up of the run can
see), a set-up term per set-up, a round term per round, rounds stopped as the runner stops
them (stopping.more_rounds). Set-ups go through the Ledger as the plugin's do, and the cell is
compared as the report compares it (verdict/nested.compare_setups with the case's looks), then
decided as decide() does."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from tests.test_stopping import t3
from triptych.stopping import more_rounds
from triptych.verdict.effect import FASTER, SAME, SLOWER, describe
from triptych.verdict.nested import Borrowed, compare_setups, family_default
from triptych.verdict.sequential import Design, Ledger, _reachable, still_open
from triptych.verdict.stats import Comparison, decide

# Per family, the nested study's medians (round, set-up, run sd), as its README gives them.
STUDY = {
    "cpu": (0.021, 0.025, 0.0),
    "memory": (0.115, 0.114, 0.0),
    "disk": (0.058, 0.071, 0.024),
    "network": (0.106, 0.105, 0.0),
    "services": (0.076, 0.089, 0.0),
}
SIMS = 500
Noise = Callable[[np.random.Generator], float]


def gaussian(rng: np.random.Generator) -> float:
    return float(rng.standard_normal())


def test_looks_widen_the_interval_and_the_tests_by_bonferroni() -> None:
    one = Comparison(0.1, 0.04, 6.0, 6, 6, 0.02)
    three = Comparison(0.1, 0.04, 6.0, 6, 6, 0.02, looks=3)
    # The 95% interval at three looks is the (1 - 0.05 / 3) interval of one look.
    half = float(stats.t.ppf(1 - 0.05 / 6, 6.0)) * 0.04
    assert three.interval() == pytest.approx((math.exp(0.1 - half), math.exp(0.1 + half)))
    assert one.interval()[0] > three.interval()[0]
    tail = float(stats.t.sf((0.1 - math.log(1.02)) / 0.04, 6.0))
    assert one.p_beyond == pytest.approx(tail)
    assert three.p_beyond == pytest.approx(3 * tail)
    assert Comparison(0.0, 0.04, 6.0, 6, 6, 0.02, looks=40).p_beyond == 1.0
    assert three.detectable(0.05) > one.detectable(0.05)


def _rounds(rng: np.random.Generator, level: float, sd: float, noise: Noise) -> np.ndarray:
    values: list[float] = []
    while more_rounds(len(values), values, 2, 4, None, 0.08):
        values.append(math.exp(level + noise(rng) * sd))
    return np.array(values)


def test_a_clear_column_stops_and_an_open_one_runs_on() -> None:
    rng = np.random.default_rng(7)
    design, borrowed = Design(2, 4), family_default("cpu")
    book = Ledger()
    for s in range(2):
        book.add("c", "host/default", s, list(1000 * np.exp(rng.normal(0, 0.01, 3))), True)
        book.add("c", "slow/default", s, list(500 * np.exp(rng.normal(0, 0.01, 3))), True)
        # about 3% slower, 10% set-up noise: open, and within reach at four set-ups? no: open
        book.add("c", "near/default", s, list(970 * np.exp(rng.normal(0, 0.1, 3))), True)
    assert not book.column_runs("c", "slow/default", "host/default", 2, borrowed, design)
    assert book.column_runs("c", "near/default", "host/default", 2, borrowed, design) == (
        still_open(
            book._before("c", "near/default", 2), book._before("c", "host/default", 2),
            True, borrowed, design,
        )
    )  # fmt: skip
    assert book.column_runs("c", "slow/default", "host/default", 0, borrowed, design)
    # A column that stopped stays stopped, whatever the host's later set-ups say.
    book.add("c", "host/default", 2, [500.0, 501.0], True)
    assert not book.column_runs("c", "slow/default", "host/default", 3, borrowed, design)
    # Nothing to compare against: no set-up could decide it.
    assert not book.column_runs("c", "slow/default", "missing/default", 2, borrowed, design)


def test_the_host_runs_while_any_column_does() -> None:
    design, borrowed = Design(1, 3), family_default("network")
    book = Ledger()
    book.add("c", "host/loopback", 0, [100.0, 140.0, 80.0], True)
    book.add("c", "a/x", 0, [75.0, 80.0, 72.0], True)  # 1.36x slower: open at one set-up
    assert book.column_runs("c", "a/x", "host/loopback", 1, borrowed, design)
    assert book.baseline_runs("c", "host/loopback", 1, borrowed, design)
    # One set-up borrowing a huge default: more set-ups replace it with measured spread.
    assert still_open(
        [np.array([100.0, 100.2, 99.8])], [np.array([100.0, 100.5, 99.5])], True,
        Borrowed(10.0, 5.0, "default"), design,
    )  # fmt: skip


def test_no_more_set_ups_where_even_the_last_could_not_decide() -> None:
    # No cost and a standard error of 5% after 3 of 4 set-ups: the last could reach a
    # half-width of 1.96 x 5% x sqrt(3/4) = 8.5%, wider than the 2% margin both ways.
    assert not _reachable(Comparison(0.0, 0.05, 4.0, 9, 9, 0.02), 3, 4)
    assert not _reachable(Comparison(0.0, 0.05, 4.0, 9, 9, 0.02), 2, 4)  # 6.9%: still wider
    assert _reachable(Comparison(0.1, 0.02, 4.0, 9, 9, 0.02), 3, 4)  # 10% - 3.4%: beyond
    assert _reachable(Comparison(0.0, 0.01, 4.0, 9, 9, 0.02), 3, 4)  # 1.7%: the same
    assert _reachable(Comparison(0.0, 0.5, 4.0, 9, 9, 0.02), 1, 4)  # a borrowed spread
    assert not still_open([np.ones(3)] * 4, [np.ones(3)] * 4, True, family_default("cpu"),
                          Design(2, 4))  # fmt: skip  # at the most: no more


@dataclass
class Outcome:
    covered: float
    verdicts: dict[str, float]
    setups: float  # mean set-ups per side


def simulate(family: str, design: Design, cost: float, noise: Noise) -> Outcome:
    """SIMS cells of one family through the Ledger, one column against the host."""
    seed = zlib.crc32(repr((family, design, cost, noise.__name__)).encode())
    rng = np.random.default_rng(seed)
    round_sd, setup_sd, run_sd = STUDY[family]
    borrowed = family_default(family)
    held, used = 0, 0
    counts = {SLOWER: 0, FASTER: 0, SAME: 0}
    for _ in range(SIMS):
        book = Ledger()
        levels = {
            "host/x": math.log(1000) + noise(rng) * run_sd,
            "p/x": math.log(1000 / cost) + noise(rng) * run_sd,
        }
        for s in range(design.max_setups):
            runs = {
                "p/x": book.column_runs("c", "p/x", "host/x", s, borrowed, design),
                "host/x": book.baseline_runs("c", "host/x", s, borrowed, design),
            }
            for column, level in levels.items():
                if s == 0 or runs[column]:
                    values = _rounds(rng, level + noise(rng) * setup_sd, round_sd, noise)
                    book.add("c", column, s, list(values), True)
        platform, host = book._before("c", "p/x", 99), book._before("c", "host/x", 99)
        comp = compare_setups(platform, host, True, borrowed, looks=design.looks)
        low, high = comp.interval()
        held += low <= cost <= high
        used += len(platform)
        (effect,) = decide([comp], "fdr")
        counts[effect.verdict] = counts.get(effect.verdict, 0) + 1
    return Outcome(held / SIMS, {k: v / SIMS for k, v in counts.items()}, used / SIMS)


DESIGNS = {
    "nightly: 2-4 set-ups": Design(2, 4),
    "1-3 set-ups": Design(1, 3),
    "3-5 set-ups": Design(3, 5),
}


@pytest.mark.parametrize("noise", [gaussian, t3], ids=["gaussian", "t3"])
@pytest.mark.parametrize("design", list(DESIGNS.values()), ids=list(DESIGNS))
@pytest.mark.parametrize("family", list(STUDY))
def test_intervals_cover_however_early_set_ups_stop(
    family: str, design: Design, noise: Noise
) -> None:
    for cost in (1.0, 1.3):
        outcome = simulate(family, design, cost, noise)
        assert outcome.covered >= 0.94, (family, design, cost, outcome)


@pytest.mark.parametrize("noise", [gaussian, t3], ids=["gaussian", "t3"])
@pytest.mark.parametrize("family", list(STUDY))
def test_an_unchanged_cell_is_rarely_a_finding_and_a_planted_2x_is_found(
    family: str, noise: Noise
) -> None:
    design = DESIGNS["nightly: 2-4 set-ups"]
    unchanged = simulate(family, design, 1.0, noise)
    assert unchanged.verdicts[SLOWER] + unchanged.verdicts[FASTER] <= 0.05, unchanged
    planted = simulate(family, design, 2.0, noise)
    assert planted.verdicts[SLOWER] >= 0.95, planted
    # A 1.3x is found about as often as by three fixed set-ups of the same rounds.
    fixed = simulate(family, Design(3, 3), 1.3, noise).verdicts[SLOWER]
    assert simulate(family, design, 1.3, noise).verdicts[SLOWER] >= fixed - 0.12
    # Fewer set-ups than a fixed design of three, on average, both where nothing changed
    # and where a 2x is (two set-ups give a set-up spread one degree of freedom a side, so
    # noisy families often take a third).
    assert unchanged.setups < 2.5, unchanged
    assert planted.setups < 3.0, planted


def test_two_set_ups_of_a_noisy_tail_among_many_tests_detect_nothing_and_do_not_crash() -> None:
    # Two set-ups a side (Welch df about 1), a p99 latency's standard error of 0.5 (log), three
    # looks, decided among 120 comparisons: the strictest rank's t quantile is about 1,600, and
    # exp(1,600 x 0.5) is beyond a float. Before, decide() raised OverflowError and the whole
    # report with it; now that comparison could detect nothing, and says so.
    noisy = Comparison(0.1, 0.5, 1.05, 4, 4, 0.02, looks=3)
    assert math.isinf(noisy.detectable(0.05 / 120))
    others = [Comparison(0.0, 0.01, 8.0, 6, 6, 0.02)] * 119
    effect = decide([noisy, *others], "fdr")[0]
    assert math.isinf(effect.detectable)
    assert "too noisy to detect anything under 100x" in describe(effect)
