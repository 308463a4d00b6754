"""Which of a case's sequential set-ups a trial runs (verdict/sequential.py), from the run's
finished trials: a trial past the case's `setups` is skipped, before its platform starts, once
its column's verdict is closed or no set-up could close it."""

from __future__ import annotations

from triptych.platforms.catalog import HOST, KINDS
from triptych.runner import Trial
from triptych.sample import Sample
from triptych.verdict.nested import family_default
from triptych.verdict.sequential import Design, Ledger
from triptych.workloads.registry import WORKLOADS


class SetupBook:
    """The run's ledger, read and written by trial."""

    def __init__(self) -> None:
        self.ledger = Ledger()

    def why_skipped(self, trial: Trial) -> str | None:
        """Why this trial's set-up does not run (None: it runs)."""
        case = trial.case
        if trial.setup < case.setups:
            return None
        baseline = _baseline(trial)
        if baseline is None:
            # No verdict to decide (startup, density: the host starts no instances of itself).
            return (
                f"sequential set-ups: {case.name} has no host column to decide a verdict "
                f"against, so it runs its {case.setups} set-up(s) alone"
            )
        design = Design(case.setups, case.max_setups)
        borrowed = family_default(WORKLOADS[case.workload].family)
        name, column = _case(trial), _column(trial)
        if column == baseline:
            runs = self.ledger.baseline_runs(name, baseline, trial.setup, borrowed, design)
        else:
            runs = self.ledger.column_runs(name, column, baseline, trial.setup, borrowed, design)
        if runs:
            return None
        if column == baseline:
            return (
                f"sequential set-ups: no column of {case.name} needs set-up {trial.setup + 1} "
                f"of up to {case.max_setups}, so neither does its baseline, the host"
            )
        return (
            f"sequential set-ups: {trial.instance}'s verdict on {case.name} needs no set-up "
            f"{trial.setup + 1} of up to {case.max_setups} (decided, or no set-up could "
            "decide it)"
        )

    def finished(self, trial: Trial, samples: list[Sample]) -> None:
        """A trial's headline rounds, for the decisions of the set-ups after it."""
        primary = trial.case.build().primary()
        mine = [s for s in samples if s.metric == primary]
        if mine:
            values = [s.value for s in mine]
            hib = mine[0].higher_is_better
            self.ledger.add(_case(trial), _column(trial), trial.setup, values, hib)


def _case(trial: Trial) -> str:
    return f"{trial.case.scenario}/{trial.case.name}"


def _column(trial: Trial) -> str:
    return f"{trial.instance}/{trial.variant}"


def _baseline(trial: Trial) -> str | None:
    """The host's own column of the case (the report's baseline); None where the host runs no
    such workload (a lifecycle one) or the case leaves it out."""
    host = KINDS[HOST.name]
    if HOST.name not in trial.case.platforms:
        return None
    own = [v for v in host.variants(WORKLOADS[trial.case.workload].target) if host.primary(v)]
    return f"{HOST.name}/{own[0]}" if own else None
