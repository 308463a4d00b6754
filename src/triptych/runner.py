"""Runs one trial (a scenario case on one platform through one variant) under pytest-benchmark."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from triptych import bench_adapter, families, host_cpu, per_unit, quiet, stopping
from triptych.bench_adapter import Benchmark, timed_rounds
from triptych.cases import Case, RoundPolicy
from triptych.errors import ParseError
from triptych.journal import Journal
from triptych.platforms.base import Platform
from triptych.platforms.catalog import KINDS
from triptych.platforms.settings import EngineSettings
from triptych.record import DESCRIPTION_KEY, CaseRecord, Round, RoundsReached
from triptych.sample import Sample
from triptych.workloads.base import Workload
from triptych.workloads.registry import WORKLOADS


@dataclass(frozen=True)
class Trial:
    """One test: a case on a platform through a variant."""

    case: Case
    platform_name: str
    variant: str
    pass_index: int = 0
    # One of what the platform runs side by side: a guest profile (`[vm] profiles`) or a
    # container runtime (`[docker] runtimes`); empty: the platform runs once.
    profile: str = ""
    setup: int = 0  # which independent set-up (fresh platforms) of the case this is

    @property
    def instance(self) -> str:
        """The platform instance this trial runs on: one per platform and guest profile."""
        return f"{self.platform_name}.{self.profile}" if self.profile else self.platform_name

    @property
    def engines(self) -> EngineSettings:
        e = self.case.engines
        return e.with_instance(self.platform_name, self.profile) if self.profile else e

    @property
    def id(self) -> str:
        v = "" if self.variant == "default" else f"/{self.variant}"
        p = f"/pass{self.pass_index + 1}" if self.case.passes > 1 else ""
        s = f"/setup{self.setup + 1}" if self.case.max_setups > 1 else ""
        return f"{self.case.scenario}/{self.case.name}/{self.instance}{v}{p}{s}"

    @property
    def rounds(self) -> int:
        return self.case.rounds_in_pass(self.pass_index)


def adaptive_rounds(
    benchmark: Benchmark,
    one_round: Callable[[], None],
    record: CaseRecord,
    policy: RoundPolicy,
    setup_sd: float,
) -> None:
    """Rounds until the first metric's rounds are precise enough (triptych.stopping), within
    [rounds, max_rounds]."""

    def values() -> list[float]:
        samples = record.samples
        return record.values(samples[0].metric) if samples else []

    def more(done: int) -> bool:
        return stopping.more_rounds(
            done, values(), policy.rounds, policy.max_rounds, policy.target_ci, setup_sd
        )

    record.rounds = timed_rounds(benchmark, one_round, more)
    reached = values()
    record.rounds_policy = RoundsReached(
        policy.rounds,
        policy.max_rounds,
        policy.target_ci,
        stopping.ci_halfwidth(reached),
        stopping.precise(reached, policy.target_ci, setup_sd),
    )
    benchmark.extra_info.update(record.to_extra_info())


def new_record(trial: Trial, platform: Platform, workload: Workload) -> CaseRecord:
    """The record of a trial before its first round."""
    case, wtype = trial.case, WORKLOADS[trial.case.workload]
    kind = KINDS[trial.platform_name]
    meta = {**platform.metadata(), **platform.tools, DESCRIPTION_KEY: kind.description}
    return CaseRecord(
        scenario=case.scenario,
        case=case.name,
        workload=case.workload,
        family=wtype.family,
        tool=wtype.tool,
        platform=trial.platform_name,
        variant=trial.variant,
        primary_variant=kind.primary(trial.variant),
        emulated=bool(meta.get("emulated", False)),
        platform_rank=kind.rank,
        params=case.params_dict,
        duration=case.spec.duration,
        rounds=trial.rounds,
        platform_metadata=meta,
        primary_metric=workload.primary(),
        pass_index=trial.pass_index,
        passes=case.passes,
        profile=trial.profile,
        setups=case.setups,
        looks=case.looks,
        series=case.series,
        sweep_axis=case.sweep_axis,
        sweep_value=case.sweep_value,
    )


def _round_function(
    trial: Trial, workload: Workload, platform: Platform, record: CaseRecord, benchmark: Benchmark
) -> Callable[[], None]:
    """One round: measure, keep its figures with what is known about the moment, store the
    record."""
    round_numbers = itertools.count(trial.case.first_round(trial.pass_index, trial.setup))

    def one_round() -> None:
        number = next(round_numbers)
        carriers = platform.carriers()
        before = quiet.snapshot()
        cpu_before = host_cpu.read(carriers)
        measured = workload.measure(platform, trial.variant)
        spent = host_cpu.since(cpu_before, carriers)
        machine = quiet.round_quietness(before)
        record.measured.append(
            Round(
                number,
                tuple(measured),
                pass_index=trial.pass_index,
                setup=trial.setup,
                foreign_cpu=machine.foreign_cpu,
                load1=machine.load1,
                client_placement=workload.client_placement(),
                host_cpu=spent,
            )
        )
        benchmark.extra_info.update(record.to_extra_info())

    return one_round


@contextlib.contextmanager
def _journalled(
    trial: Trial, record: CaseRecord, benchmark: Benchmark, journal: Journal | None
) -> Iterator[None]:
    """Every finished round is kept in the journal, whatever happens to the rest of the case."""
    status, error = "failed", ""
    try:
        yield
        status = "passed"
    except ParseError as e:
        bench_adapter.failed(benchmark)
        if journal is None:
            raise
        kept = journal.keep_raw(trial.id, e.tool, e.raw)
        reason = f"{e.args[0].split(': ', 1)[-1]} (case {trial.id}; raw output kept in {kept})"
        error = f"cannot read {e.tool} output: {reason}"
        raise ParseError(e.tool, reason, e.raw) from None
    except BaseException as e:
        error = str(e).splitlines()[0] if str(e) else type(e).__name__
        # pytest-benchmark marks only Exceptions; an interrupted case must not be saved with
        # no data either (its session-end save would crash and lose every other case).
        bench_adapter.failed(benchmark)
        raise
    finally:
        if journal is not None:
            journal.case(trial.id, record, status, error)


def run_trial(
    trial: Trial, platform: Platform, benchmark: Benchmark, journal: Journal | None = None
) -> list[Sample]:
    """Prepare, measure once per round, clean up; every sample goes into the stored record."""
    case = trial.case
    workload = case.build()
    record = new_record(trial, platform, workload)
    benchmark.group = f"{case.scenario}/{case.name}"
    benchmark.extra_info.update(record.to_extra_info())
    one_round = _round_function(trial, workload, platform, record, benchmark)
    with _journalled(trial, record, benchmark, journal):
        workload.prepare(platform, trial.variant)
        try:
            _warm_up(trial, workload, platform, record)
            policy = case.policy or RoundPolicy(case.rounds, case.rounds, None)
            if policy.adaptive and not getattr(benchmark, "disabled", False):
                setup_sd = families.setup_spread(WORKLOADS[case.workload].family)
                adaptive_rounds(benchmark, one_round, record, policy, setup_sd)
            else:
                benchmark.pedantic(one_round, rounds=trial.rounds, iterations=1, warmup_rounds=0)
        finally:
            workload.cleanup(platform, trial.variant)
        _restate_stats(benchmark, record)
    return record.samples


def _warm_up(trial: Trial, workload: Workload, platform: Platform, record: CaseRecord) -> None:
    """One run before the rounds, shorter than a round, stored apart and never counted."""
    spec = trial.case.warmup_spec(workload.min_duration)
    if spec is None or not workload.warms_up:
        return
    try:
        warm = workload.measure(platform, trial.variant, spec)
    except ParseError:
        # A short run may report nothing a round would (stress-ng's stream rate under
        # emulation): it warmed up all the same, and its figures are discarded anyway.
        warm = []
    record.warmup_seconds = spec.duration
    record.warmup_samples = warm


def _restate_stats(benchmark: Benchmark, record: CaseRecord) -> None:
    """pytest-benchmark's stats become the primary metric per unit of work (per_unit.py); the
    rounds' wall times stay in the record."""
    metric = record.primary_metric or ""
    values = per_unit.per_round(record.measured, metric)
    if values is None:
        return
    walls = bench_adapter.restate(benchmark, values)
    if not walls:
        return  # benchmarking disabled: no stats to restate
    record.round_seconds = walls
    first = next(s for s in record.samples if s.metric == metric)
    record.stats_measure = per_unit.describe_measure(metric, first.unit, first.higher_is_better)
    benchmark.extra_info.update(record.to_extra_info())
