"""Runs one case (a scenario case on one platform through one variant) under pytest-benchmark."""

from __future__ import annotations

import contextlib
import itertools
import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from scipy.stats import t as t_dist

from triptych import RESULT_API_VERSION
from triptych.errors import ParseError
from triptych.journal import Journal
from triptych.platforms.base import Platform
from triptych.platforms.registry import EngineSettings, PlatformSettings, make_platform
from triptych.sample import Sample
from triptych.scenario import Case, RoundPolicy
from triptych.workloads.registry import WORKLOADS


@dataclass(frozen=True)
class CaseRun:
    """One test: a case on a platform through a variant."""

    case: Case
    platform: str
    variant: str

    @property
    def id(self) -> str:
        v = "" if self.variant == "default" else f"/{self.variant}"
        return f"{self.case.scenario}/{self.case.name}/{self.platform}{v}"


class Benchmark(Protocol):
    """The parts of pytest-benchmark's fixture we use."""

    extra_info: dict[str, Any]
    group: str | None
    has_error: bool
    _mode: str | None

    def _make_stats(self, iterations: int) -> Any: ...  # noqa: ANN401

    def pedantic(
        self, target: Callable[[], None], *, rounds: int, iterations: int, warmup_rounds: int
    ) -> None: ...


class PlatformPool:
    """Starts each platform once, on first use, and stops all of them when closed."""

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self._stack = contextlib.ExitStack()
        self._started: dict[tuple[str, object], Platform] = {}
        self._failed: dict[tuple[str, object], Exception] = {}

    def get(self, name: str, engines: EngineSettings) -> Platform:
        """The started platform `name` with these settings; started on first use."""
        key = (name, engines.for_platform(name))
        if key in self._failed:
            raise self._failed[key]
        if key in self._started and not self._started[key].healthy():
            # Its container or guest died (or its daemon went away): the next cases get a
            # fresh one, or are skipped with the reason if it cannot start again.
            self._started.pop(key).stop()
            warnings.warn(
                f"platform {name} died during the run; starting it again for the next case",
                stacklevel=2,
            )
        if key not in self._started:
            # A platform with other settings is stopped first: one instance per platform.
            # (Stopping is idempotent, so the exit stack may stop it again at the end.)
            for other in [k for k in self._started if k[0] == name]:
                self._started.pop(other).stop()
            try:
                platform = make_platform(name, self.settings, engines)
                self._started[key] = self._stack.enter_context(platform)
            except Exception as e:
                self._failed[key] = e
                raise
        return self._started[key]

    def close(self) -> None:
        self._started.clear()
        self._stack.close()


def ci_halfwidth(values: list[float]) -> float:
    """Half-width of the 95% t confidence interval of the mean, as a fraction of the mean."""
    n = len(values)
    mean = statistics.fmean(values) if values else 0.0
    if n < 2 or mean == 0:
        return math.inf
    return float(t_dist.ppf(0.975, n - 1)) * statistics.stdev(values) / math.sqrt(n) / abs(mean)


def adaptive_rounds(
    benchmark: Benchmark, one_round: Callable[[], None], samples: list[Sample], policy: RoundPolicy
) -> None:
    """Rounds until the first metric's CI is under target, within [rounds, max_rounds].

    pytest-benchmark's pedantic() needs its round count up front, so this does what it does
    (make the stats, time each round into them) with a count decided as it goes.
    """
    benchmark._mode = "benchmark.pedantic(...)"
    stats = benchmark._make_stats(1)
    halfwidth = math.inf
    for done in range(1, policy.max_rounds + 1):
        started = time.perf_counter()
        one_round()
        stats.update(time.perf_counter() - started)
        first = samples[0].metric if samples else ""
        halfwidth = ci_halfwidth([s.value for s in samples if s.metric == first])
        if done >= policy.rounds and halfwidth <= (policy.target_ci or 0):
            break
    benchmark.extra_info["rounds"] = done
    benchmark.extra_info["rounds_policy"] = {
        "min": policy.rounds,
        "max": policy.max_rounds,
        "target_ci": policy.target_ci,
        "achieved_ci": halfwidth,
        "converged": halfwidth <= (policy.target_ci or 0),
    }


def run_case(
    run: CaseRun, platform: Platform, benchmark: Benchmark, journal: Journal | None = None
) -> list[Sample]:
    """Prepare, run one tool invocation per round, clean up; store every sample in extra_info."""
    case = run.case
    workload = case.build()
    wtype = WORKLOADS[case.workload]
    context = {
        **platform.metadata(),
        "variant": run.variant,
        "tool": wtype.tool,
        "family": wtype.family,
        "case": case.name,
    }
    samples: list[Sample] = []
    benchmark.group = f"{case.scenario}/{case.name}"
    benchmark.extra_info.update(
        {
            "triptych_api": RESULT_API_VERSION,
            "scenario": case.scenario,
            "case": case.name,
            "workload": case.workload,
            "family": wtype.family,
            "tool": wtype.tool,
            "platform": run.platform,
            "variant": run.variant,
            "params": case.params_dict,
            "duration": case.spec.duration,
            "rounds": case.rounds,
            "platform_metadata": platform.metadata(),
            "samples": [],
        }
    )

    round_numbers = itertools.count()

    def one_round() -> None:
        number = next(round_numbers)
        for s in workload.run(platform, run.variant):
            samples.append(
                s.with_context(
                    platform=run.platform,
                    workload=case.workload,
                    scenario=case.scenario,
                    metadata={**context, "round": number},
                )
            )
        benchmark.extra_info["samples"] = [s.to_dict() for s in samples]

    status, error = "failed", ""
    try:
        workload.prepare(platform, run.variant)
        try:
            policy = case.policy or RoundPolicy(case.rounds, case.rounds, None)
            if policy.adaptive and not getattr(benchmark, "disabled", False):
                adaptive_rounds(benchmark, one_round, samples, policy)
            else:
                benchmark.pedantic(one_round, rounds=case.rounds, iterations=1, warmup_rounds=0)
        finally:
            workload.cleanup(platform, run.variant)
        status = "passed"
    except ParseError as e:
        benchmark.has_error = True
        error = str(e)
        if journal is not None:
            kept = journal.keep_raw(run.id, e.tool, e.raw)
            error = f"{e} (case {run.id}; raw output kept in {kept})"
            raise ParseError(
                e.tool,
                f"{e.args[0].split(': ', 1)[-1]} (case {run.id}; raw output kept in {kept})",
                e.raw,
            ) from None
        raise
    except BaseException as e:
        error = str(e).splitlines()[0] if str(e) else type(e).__name__
        # pytest-benchmark marks only Exceptions; an interrupted case must not be saved with
        # no data either (its session-end save would crash and lose every other case).
        benchmark.has_error = True
        raise
    finally:
        # Every finished round is kept, whatever happened to the rest of the case.
        if journal is not None:
            journal.case(run.id, dict(benchmark.extra_info), status, error)
    return samples
