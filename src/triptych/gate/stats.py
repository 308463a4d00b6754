"""The gate's arithmetic on arrays: `triptych compare` on real runs (one night) and the simulation
of thousands of nights (tests/test_gate_sim.py) go through this same code.

Every quantity is on the log scale and has the shape (..., metrics, runs): leading axes are
simulated nights, absent for a real comparison.

With one baseline run whose set-ups were started afresh (two or more on each side), the set-up
means are the units (`setup_tests`): their spread, pooled over both runs and moderated within the
noise group, is the noise a rerun would re-draw, plus what the nested study found a rerun adds
beyond fresh set-ups (families.Family.beyond_setups, taken as known). With one set-up on either
side, the current run's rounds are compared with the baseline's (Welch), and a change must also
exceed its noise group's floor (what one run cannot show).

With a history of several baseline runs, each run is one unit: the current run's mean must lie
beyond what the spread of the history's run means predicts for one more run (a prediction
interval). Five runs give a variance with 4 degrees of freedom, too few to find anything among
~150 metrics, so each metric's variance is moderated within its noise group (Smyth's
empirical Bayes, as limma does for genes), centred on its like metrics (like_prior: the same
metric on the other columns): they tell how far one metric's variance can be from theirs,
which adds d0 degrees of freedom to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from scipy.special import digamma, polygamma

from triptych.verdict.stats import ALPHA, Comparison, adjust, beyond_p

BIG_DF = 1e6  # degrees of freedom standing in for "known" (a t with it is a normal)


@dataclass(frozen=True)
class Rounds:
    """Per metric and run: mean and variance (ddof=1) of its rounds' log values, and how many
    rounds. A run lacking the metric has n = 0 and NaN mean."""

    mean: np.ndarray
    var: np.ndarray
    n: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Rounds:
        """From positive values of shape (..., metrics, runs, rounds)."""
        logs = np.log(values)
        n = np.full(logs.shape[:-1], logs.shape[-1])
        var = logs.var(axis=-1, ddof=1) if logs.shape[-1] > 1 else np.full(n.shape, np.nan)
        return cls(logs.mean(axis=-1), var, n)

    @classmethod
    def ragged(cls, metrics: Sequence[Sequence[np.ndarray]]) -> Rounds:
        """From real runs: per metric, each run's rounds (any count; missing runs are empty)."""
        width = max((len(runs) for runs in metrics), default=0)
        mean = np.full((len(metrics), width), np.nan)
        var = np.full((len(metrics), width), np.nan)
        n = np.zeros((len(metrics), width), dtype=int)
        for i, runs in enumerate(metrics):
            for j, rounds in enumerate(runs):
                if rounds.size == 0 or (rounds <= 0).any():
                    continue
                logs = np.log(rounds)
                mean[i, j], n[i, j] = logs.mean(), logs.size
                if logs.size > 1:
                    var[i, j] = logs.var(ddof=1)
        return cls(mean, var, n)


@dataclass(frozen=True)
class Tests:
    """One test per metric (shape (..., metrics)): the log cost, oriented so that > 0 is worse,
    its standard error and degrees of freedom, the margin it must exceed, and how many units
    each side had (rounds for one baseline run, runs for a history)."""

    log_cost: np.ndarray
    se: np.ndarray
    df: np.ndarray
    margin: np.ndarray
    n_current: np.ndarray
    n_baseline: np.ndarray

    def first(self, n: int) -> Tests:
        """The tests of the first n metrics."""
        return Tests(*(getattr(self, f.name)[..., :n] for f in fields(self)))

    def comparisons(self) -> list[Comparison]:
        """One night's tests as the comparisons `stats.decide` takes."""
        return [
            Comparison(
                float(self.log_cost[i]),
                float(self.se[i]),
                float(self.df[i]),
                int(self.n_current[i]),
                int(self.n_baseline[i]),
                float(self.margin[i]),
            )
            for i in range(self.log_cost.shape[-1])
        ]


def trigamma_inverse(x: np.ndarray) -> np.ndarray:
    """y with trigamma(y) = x, by Newton's method (limma's trigammaInverse)."""
    x = np.asarray(x, dtype=float)
    y = np.where(x > 1e7, 1 / np.sqrt(x), np.where(x < 1e-6, 1 / x, 0.5 + 1 / x))
    newton = (x >= 1e-6) & (x <= 1e7)
    for _ in range(50):
        tri = polygamma(1, y)
        step = np.where(newton, tri * (1 - tri / x) / polygamma(2, y), 0.0)
        y = y + step
        if np.all(-step / y < 1e-8):
            break
    return y


def prior(s2: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smyth's moment estimates of the prior (d0, s0^2) of variances s2 with d degrees of
    freedom, along the last axis (limma's fitFDist without covariates); NaN or zero entries take
    no part. d0 is infinite when the variances differ no more than sampling alone would make
    them; 0 with fewer than 3."""
    usable = np.isfinite(s2) & (s2 > 0) & (d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(usable, d / 2, 1.0)
        e = np.where(usable, np.log(np.where(usable, s2, 1.0)) - digamma(half) + np.log(half), 0)
        count = usable.sum(axis=-1)
        emean = e.sum(axis=-1) / count
        spread = np.where(usable, (e - emean[..., None]) ** 2, 0).sum(axis=-1) / (count - 1)
        sampling = np.where(usable, polygamma(1, half), 0).sum(axis=-1) / count
        evar = spread - sampling
    enough = count >= 3
    d0 = np.where(evar > 0, 2 * trigamma_inverse(np.where(evar > 0, evar, 1.0)), np.inf)
    finite = np.isfinite(d0)
    safe = np.where(finite, d0, 2.0)
    s02 = np.where(finite, np.exp(emean + digamma(safe / 2) - np.log(safe / 2)), np.exp(emean))
    return np.where(enough, d0, 0.0), np.where(enough, s02, np.nan)


def like_prior(s2: np.ndarray, d: np.ndarray, like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per metric, the prior (d0, s0^2) of its variance among like metrics (`like`: one id per
    metric, e.g. the same metric on other platforms), within one noise group (the last axis).

    Smyth's moment estimates, with the prior's centre per like group rather than one for the
    whole group: each metric's centre is its like metrics' mean log variance (itself left out),
    shrunk towards the group's by how far like groups' centres differ beyond what their own
    spread explains (tau^2, a random effect); d0 comes from the spread within like groups plus
    what the centre's shrinkage leaves uncertain. A metric with no like metric gets the
    group's centre and the group's whole spread (the plain `prior`'s d0, when no group has
    two members). NaN or zero entries take no part; d0 is 0 with fewer than 3 in all."""
    usable = np.isfinite(s2) & (s2 > 0) & (d > 0)
    ids = np.unique(like, return_inverse=True)[1].reshape(-1)
    member = (ids[None, :] == np.arange(ids.max() + 1 if ids.size else 0)[:, None]).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(usable, d / 2, 1.0)
        e = np.where(usable, np.log(np.where(usable, s2, 1.0)) - digamma(half) + np.log(half), 0)
        u = usable.astype(float)
        total, count = e.sum(axis=-1), u.sum(axis=-1)
        sampling = np.where(usable, polygamma(1, half), 0).sum(axis=-1) / count
        n_s, sum_s = u @ member.T, e @ member.T  # per like group (..., groups)
        mean_s = sum_s / n_s
        resid = np.where(usable, e - np.take_along_axis(mean_s, _at(ids, e), axis=-1), 0.0)
        df_w = (n_s - (n_s > 0)).sum(axis=-1)
        within = np.where(df_w > 0, np.maximum((resid**2).sum(axis=-1) / df_w - sampling, 0.0), 0.0)
        grand = total / count
        present = n_s > 0
        groups = present.sum(axis=-1)
        spread_s = np.where(present, (mean_s - grand[..., None]) ** 2, 0).sum(axis=-1)
        noise_s = np.where(present, (within + sampling)[..., None] / n_s, 0).sum(axis=-1)
        tau2 = np.maximum((spread_s / (groups - 1) - noise_s / groups), 0.0)
        tau2 = np.where(groups > 1, tau2, 0.0)
        # Each metric's own like group and the whole group, itself left out.
        others = np.take_along_axis(n_s, _at(ids, e), axis=-1) - u
        loo = (np.take_along_axis(sum_s, _at(ids, e), axis=-1) - e * u) / others
        loo_grand = (total[..., None] - e * u) / (count[..., None] - u)
        noise = (within + sampling)[..., None] / others
        w = np.where(others > 0, tau2[..., None] / (tau2[..., None] + noise), 0.0)
        w = np.where(np.isfinite(w), w, 0.0)
        centre = loo_grand + w * np.where(others > 0, loo - loo_grand, 0.0)
        evar = within[..., None] + (1 - w) * tau2[..., None]
    d0 = np.where(evar > 0, 2 * trigamma_inverse(np.where(evar > 0, evar, 1.0)), np.inf)
    finite = np.isfinite(d0)
    safe = np.where(finite, d0, 2.0)
    s02 = np.where(finite, np.exp(centre + digamma(safe / 2) - np.log(safe / 2)), np.exp(centre))
    enough = (count >= 3)[..., None]
    return np.where(enough, d0, 0.0), np.where(enough, s02, np.nan)


def _at(ids: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The like-group index of each metric, broadcast to `like`'s shape."""
    return np.broadcast_to(ids, like.shape)


def moderated(
    s2: np.ndarray, d: np.ndarray, group: np.ndarray, like: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each metric's variance moderated towards its group's prior, and its degrees of freedom
    (capped at BIG_DF); along the metric axis, groups given by `group` (one id per metric).
    Given `like` (one id per metric), the prior is centred per like group (like_prior)."""
    out, df = s2.copy(), d.astype(float).copy()
    for g in np.unique(group):
        at = group == g
        if like is None:
            d0, s02 = prior(s2[..., at], d[..., at])
            d0, s02 = d0[..., None], s02[..., None]
        else:
            d0, s02 = like_prior(s2[..., at], d[..., at], like[at])
        own = np.where(np.isfinite(s2[..., at]), s2[..., at], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled = (d0 * np.nan_to_num(s02) + d[..., at] * own) / (d0 + d[..., at])
        mixed = np.where(np.isinf(d0), s02, pooled)
        out[..., at] = np.where(d0 > 0, mixed, s2[..., at])
        df[..., at] = np.minimum(d[..., at] + d0, BIG_DF)
    return out, df


def _welch(cur: Rounds, base: Rounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Current run against the one baseline run (first run of each): mean difference, its
    standard error and Welch-Satterthwaite degrees of freedom."""
    na, nb = cur.n[..., 0], base.n[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        va, vb = cur.var[..., 0] / na, base.var[..., 0] / nb
        se2 = va + vb
        df = se2**2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    df = np.where(se2 > 0, df, (na + nb - 2).astype(float))
    return cur.mean[..., 0] - base.mean[..., 0], np.sqrt(se2), df


def gate_tests(
    current: Rounds,
    history: Rounds,
    group: np.ndarray,
    higher_is_better: np.ndarray,
    margin: np.ndarray,
    floor: np.ndarray,
    like: np.ndarray | None = None,
) -> Tests:
    """The test of every metric: Welch plus the group's noise floor against one baseline run,
    the moderated prediction test against a history (its prior centred per `like` group when
    given). `current` has one run per metric (its rounds pooled when several were given)."""
    present = history.n > 0
    k = present.sum(axis=-1)
    means = np.where(present, history.mean, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        h_mean = means.sum(axis=-1) / k
        dev = np.where(present, history.mean - h_mean[..., None], 0.0)
        s2 = np.where(k > 1, (dev**2).sum(axis=-1) / (k - 1), np.nan)
    mod, mod_df = moderated(s2, np.maximum(k - 1, 0), group, like)
    w_diff, w_se, w_df = _welch(current, history)
    single = k == 1
    diff = np.where(single, w_diff, current.mean[..., 0] - h_mean)
    with np.errstate(invalid="ignore"):
        pred_se = np.sqrt(mod * (1 + 1 / np.maximum(k, 1)))
    sign = np.where(higher_is_better, -1.0, 1.0)
    return Tests(
        log_cost=sign * diff,
        se=np.where(single, w_se, pred_se),
        df=np.where(single, w_df, mod_df),
        margin=np.where(single, np.maximum(margin, floor), margin) * np.ones_like(diff),
        n_current=current.n[..., 0] * np.ones_like(k),
        n_baseline=np.where(single, history.n[..., 0], k),
    )


def _setup_level(setups: Rounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per metric: the mean of its set-up means, their sum of squared deviations, and how many
    set-ups (the `runs` axis of `setups` holds set-ups)."""
    present = setups.n > 0
    k = present.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, setups.mean, 0.0).sum(axis=-1) / k
        ss = np.where(present, (setups.mean - mean[..., None]) ** 2, 0.0).sum(axis=-1)
    return mean, ss, k


def setup_tests(
    current: Rounds,
    baseline: Rounds,
    group: np.ndarray,
    higher_is_better: np.ndarray,
    margin: np.ndarray,
    beyond: np.ndarray,
    like: np.ndarray | None = None,
) -> Tests:
    """Two runs, each with its set-ups (the `runs` axis holds set-ups): the difference of the
    means of set-up means, against the pooled set-up variance moderated within each noise group
    (its prior centred on the metric's like metrics, `like`, as a history's is),
    plus `beyond` (the standard deviation a rerun adds beyond fresh set-ups, one per metric) for
    each side. Degrees of freedom are the moderated variance's (the known term adds none)."""
    m_cur, ss_cur, k_cur = _setup_level(current)
    m_base, ss_base, k_base = _setup_level(baseline)
    d = np.maximum(k_cur + k_base - 2, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(d > 0, (ss_cur + ss_base) / d, np.nan)
    mod, mod_df = moderated(s2, d, group, like)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(mod * (1 / k_cur + 1 / k_base) + 2 * beyond**2)
    sign = np.where(higher_is_better, -1.0, 1.0)
    diff = m_cur - m_base
    return Tests(
        log_cost=sign * diff,
        se=se,
        df=mod_df,
        margin=margin * np.ones_like(diff),
        n_current=k_cur,
        n_baseline=k_base,
    )


def noise_tests(
    current: Rounds,
    baseline: Rounds,
    total: np.ndarray,
    d: np.ndarray,
    rounds_var: np.ndarray,
    group: np.ndarray,
    higher_is_better: np.ndarray,
    margin: np.ndarray,
    floor_sigmas: float,
    like: np.ndarray | None = None,
) -> Tests:
    """Two runs of one set-up each (the first run of each side's `runs` axis) against the
    machine's own noise (verdict/noise_model.py): per metric, the variance of one run's set-up
    mean in its earlier runs (`total`, on `d` degrees of freedom, moderated within its noise
    group and like metrics as a history's is) for each side, plus what each side's rounds show
    beyond the history's round noise (`rounds_var`); Satterthwaite's degrees of freedom.

    As against the families' floors, a change must also exceed `floor_sigmas` standard errors
    of the difference: here the machine's own. One run of each side is one draw of a run effect,
    and a heavy-tailed one (Student-t(3)) beats the test's own tail far more often than 5% of
    nights (20-29% in tests/test_noise_model.py); the floor holds that to about 5%."""
    mod, mod_df = moderated(total, np.broadcast_to(d, total.shape).astype(float), group, like)
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = [
            np.where(
                side.n[..., 0] > 1,
                np.maximum(np.nan_to_num(side.var[..., 0]) / side.n[..., 0] - rounds_var, 0.0),
                0.0,
            )
            for side in (current, baseline)
        ]
        shared = 2 * mod
        var = shared + excess[0] + excess[1]
        parts = shared**2 / mod_df + sum(
            np.where(e > 0, e**2 / (side.n[..., 0] - 1), 0.0)
            for e, side in zip(excess, (current, baseline), strict=True)
        )
        df = np.where(parts > 0, var**2 / parts, mod_df)
    sign = np.where(higher_is_better, -1.0, 1.0)
    diff = current.mean[..., 0] - baseline.mean[..., 0]
    se = np.sqrt(var)
    return Tests(
        log_cost=sign * diff,
        se=se,
        df=df,
        margin=np.maximum(margin, np.expm1(floor_sigmas * se)),
        n_current=current.n[..., 0],
        n_baseline=baseline.n[..., 0],
    )


def rerun_redraws(tests: Tests, night: np.ndarray) -> np.ndarray:
    """Which metrics a rerun the same night can decide: those whose night-shared spread
    (`night`, in log units; infinite where unmeasured) is at most half their run-to-run
    variance (their history's moderated variance), so that the rerun re-draws at least half
    of it. The rest share too much with their night for a rerun to tell it from a regression:
    the next night decides them."""
    with np.errstate(invalid="ignore", divide="ignore"):
        run_var = tests.se**2 / (1 + 1 / tests.n_baseline)
    redrawn: np.ndarray = np.isfinite(night) & (night**2 <= run_var / 2)
    return redrawn


def regressions(tests: Tests, alpha: float = ALPHA) -> np.ndarray:
    """Which metrics the gate calls slower, the family-wise error over the metric axis held at
    alpha (Holm over the testable ones), as `stats.decide(..., "fwer")` decides for a real
    comparison."""
    testable = (np.minimum(tests.n_current, tests.n_baseline) >= 2) & np.isfinite(tests.log_cost)
    p = np.where(testable, beyond_p(tests.log_cost, tests.se, tests.df, tests.margin), np.nan)
    return (adjust(p, "fwer") < alpha) & (tests.log_cost > 0)
