"""Scenario files (TOML): which workloads, with which parameters, on which platforms, how often.

Every mistake is reported before anything runs, in one line naming the file, the key and the fix.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triptych.cases import Case, RoundPolicy, Scenario
from triptych.errors import ScenarioError
from triptych.platforms.catalog import DOCKER_BRIDGE, KINDS, SETTINGS_TABLES, VM
from triptych.platforms.runtimes import RUNTIMES
from triptych.platforms.settings import VM_PROFILES, DockerSettings, EngineSettings, VmSettings
from triptych.validate import NAME, Where, build, check_keys, check_type, in_range, suggest
from triptych.workloads.base import RunSpec
from triptych.workloads.registry import WORKLOADS

MIN_DURATION, MAX_DURATION = 1.0, 3600.0
MAX_TIMEOUT = 86400.0  # a hung tool is killed within a day, whatever the scenario says
MIN_ROUNDS, MAX_ROUNDS = 1, 1000
# Keys a case may set, and the scenario may set as the default of every case.
_SHARED_KEYS = {
    "platforms": list,
    "rounds": int,
    "max_rounds": int,
    "target_ci": float,
    "duration": float,
    "timeout": float,
    "warmup": float,
}
SCENARIO_KEYS = {
    "name": str, "description": str, "passes": int, "setups": int, "max_setups": int,
    **_SHARED_KEYS
}  # fmt: skip
MAX_SETUPS = 20
MAX_PASSES = 100
CASE_KEYS = {"name": str, "workload": str, "params": dict, **_SHARED_KEYS}
TOP_KEYS = {"scenario": dict, "case": list, **dict.fromkeys(SETTINGS_TABLES, dict)}


def _platforms(where: Where, key: str, value: object) -> tuple[str, ...]:
    items = check_type(where, key, value, list)
    if not items:
        raise where.error(key, "empty list", f"name at least one of {', '.join(KINDS)}")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise where.error(
                f"{key}[{i}]",
                f"expected a platform name, got {item!r}",
                f"use one of {', '.join(KINDS)}",
            )
        if item not in KINDS:
            raise where.error(f"{key}[{i}]", f"unknown platform {item!r}", suggest(item, KINDS))
    return tuple(items)


def _params(where: Where, key: str, workload: str, given: object) -> Any:  # noqa: ANN401
    table = check_type(where, key, given, dict)
    return build(where, key, WORKLOADS[workload].Params, table, owner=workload, noun="parameter")


def _name(where: Where, key: str, value: object) -> str:
    name = check_type(where, key, value, str)
    if not NAME.fullmatch(name):
        raise where.error(
            key,
            f"{name!r} is not a valid name",
            "use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return str(name)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(
            f"{path}: file not found; pass an existing scenario file, e.g. scenarios/quick.toml"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{path}: cannot read ({e}); check the path and permissions") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: TOML syntax error: {e}; fix the syntax there") from None
    except (ValueError, RecursionError):
        # An integer past Python's conversion limit, or tables nested past its stack.
        raise ScenarioError(
            f"{path}: a value too large or too deeply nested to read; use plain settings"
        ) from None


@dataclass(frozen=True)
class _Defaults:
    scenario: str
    platforms: tuple[str, ...]
    rounds: int
    max_rounds: int | None
    target_ci: float | None
    duration: float
    timeout: float | None
    engines: EngineSettings
    warmup: float = 1.0


def _policy(
    where: Where, key: str, rounds: int, max_rounds: int | None, target: float | None
) -> RoundPolicy:
    """Fixed rounds, or adaptive: each set-up repeats until its rounds are precise enough
    (triptych.stopping), within max_rounds."""
    if max_rounds is None and target is None:
        return RoundPolicy(rounds, rounds, None)
    if max_rounds is None:
        raise where.error(
            f"{key}.max_rounds",
            "target_ci needs max_rounds (the most rounds a set-up may run)",
            "add max_rounds (e.g. max_rounds = 6), or remove target_ci",
        )
    in_range(where, f"{key}.max_rounds", max_rounds, max(rounds, 2), MAX_ROUNDS, "")
    if target is None:
        return RoundPolicy(max(rounds, 2), max_rounds, None)
    if not 0 < target < 1:
        raise where.error(
            f"{key}.target_ci",
            f"{target:g} is not a fraction of the mean",
            "give the 95% CI half-width as a fraction, e.g. 0.02 for 2%",
        )
    return RoundPolicy(max(rounds, 2), max_rounds, target)


def _engines(where: Where, raw: dict[str, Any]) -> EngineSettings:
    d, v = DOCKER_BRIDGE.settings, VM.settings  # the tables' names, as the catalog declares
    docker = dict(check_type(where, d, raw.get(d, {}), dict))
    vm = dict(check_type(where, v, raw.get(v, {}), dict))
    profiles = _side_by_side(
        where, f"{v}.{VM.side_by_side}", vm.pop(VM.side_by_side, None), VM_PROFILES,
        "profile" in vm, ("guest profile", 'profiles = ["tuned", "default"]', f"{v}.profile"),
    )  # fmt: skip
    side = DOCKER_BRIDGE.side_by_side
    runtimes = _side_by_side(
        where, f"{d}.{side}", docker.pop(side, None), tuple(RUNTIMES), "runtime" in docker,
        ("container runtime", 'runtimes = ["runc", "runsc"]', f"{d}.runtime"),
    )  # fmt: skip
    return EngineSettings(
        build(where, d, DockerSettings, docker),
        build(where, v, VmSettings, vm),
        profiles,
        runtimes,
    )


def _side_by_side(
    where: Where,
    key: str,
    given: object,
    known: tuple[str, ...],
    single_too: bool,
    words: tuple[str, str, str],
) -> tuple[str, ...]:
    """A list of what a platform runs side by side, each its own column (`[vm] profiles`,
    `[docker] runtimes`); words: what one is, an example, the single key it replaces."""
    if given is None:
        return ()
    what, example, single = words
    names = check_type(where, key, given, list)
    for name in names:
        if name not in known:
            raise where.error(key, f"{name!r} is not a {what}", suggest(str(name), known))
    if not names or len(set(names)) != len(names):
        raise where.error(key, f"expected distinct {what}s", f"write e.g. {example}")
    if single_too:
        raise where.error(key, f"both {single} and {key} are set", "keep one of them")
    return tuple(names)


def _workload(where: Where, key: str, c: dict[str, Any]) -> str:
    if "workload" not in c:
        raise where.error(
            f"{key}.workload",
            "missing key",
            f"add workload = one of {', '.join(sorted(WORKLOADS))}",
        )
    workload = str(c["workload"])
    if workload not in WORKLOADS:
        raise where.error(
            f"{key}.workload", f"unknown workload {workload!r}", suggest(workload, WORKLOADS)
        )
    return workload


def _spec(where: Where, key: str, c: dict[str, Any], d: _Defaults, workload: str) -> RunSpec:
    """How long a round measures (at least what the tool needs) and when it is given up."""
    duration = float(c.get("duration", d.duration))
    in_range(where, f"{key}.duration", duration, MIN_DURATION, MAX_DURATION, " s")
    least = WORKLOADS[workload].min_duration
    if duration < least:
        raise where.error(
            f"{key}.duration",
            f"{workload} needs at least {least:g} s to report a figure, got {duration:g} s",
            f"set duration = {least:g} or more in this case",
        )
    timeout = c.get("timeout", d.timeout)
    timeout = float(timeout) if timeout is not None else max(120.0, 10 * duration)
    timeout_key = f"{key}.timeout" if "timeout" in c else "scenario.timeout"
    in_range(where, timeout_key, timeout, MIN_DURATION, MAX_TIMEOUT, " s", "timeout = 600")
    if timeout <= duration:
        raise where.error(
            timeout_key,
            f"{timeout:g} s is not longer than the duration {duration:g} s",
            "allow more time than the measurement",
        )
    return RunSpec(duration, timeout)


def _case(where: Where, i: int, raw: object, d: _Defaults) -> Case:
    key = f"case[{i}]"
    c = check_type(where, key, raw, dict)
    check_keys(where, f"{key}.", c, CASE_KEYS)
    for k, t in CASE_KEYS.items():
        if k in c:
            check_type(where, f"{key}.{k}", c[k], t)
    workload = _workload(where, key, c)
    rounds = c.get("rounds", d.rounds)
    in_range(where, f"{key}.rounds", rounds, MIN_ROUNDS, MAX_ROUNDS, "")
    policy = _policy(
        where, key, rounds, c.get("max_rounds", d.max_rounds), c.get("target_ci", d.target_ci)
    )
    platforms = (
        _platforms(where, f"{key}.platforms", c["platforms"]) if "platforms" in c else d.platforms
    )
    return Case(
        d.scenario,
        _name(where, f"{key}.name", c.get("name", workload)),
        workload,
        _params(where, f"{key}.params", workload, c.get("params", {})),
        rounds,
        _spec(where, key, c, d, workload),
        platforms,
        where.path,
        d.engines,
        policy,
        warmup=_warmup(where, key, c, d),
    )


def _cases(where: Where, i: int, raw: object, d: _Defaults) -> list[Case]:
    """The case, or one case per value when its workload's sweep axis is given a list."""
    c = check_type(where, f"case[{i}]", raw, dict)
    params = c.get("params")
    wtype = WORKLOADS.get(c.get("workload")) if isinstance(c.get("workload"), str) else None
    axis = wtype.sweep_axis if wtype is not None else ""
    values = params.get(axis) if axis and isinstance(params, dict) else None
    if not isinstance(values, list):
        return [_case(where, i, c, d)]
    key = f"case[{i}].params.{axis}"
    if not values or len(set(map(str, values))) != len(values):
        raise where.error(key, "expected distinct values", f"write e.g. {axis} = [1, 8, 32]")
    cases = [_case(where, i, {**c, "params": {**params, axis: v}}, d) for v in values]
    return [
        dataclasses.replace(
            case,
            name=f"{case.name}-{axis[0]}{v}",
            series=case.name,
            sweep_axis=axis,
            sweep_value=float(v),
        )
        for case, v in zip(cases, values, strict=True)
    ]


def _warmup(where: Where, key: str, c: dict[str, Any], d: _Defaults) -> float:
    warmup = float(c.get("warmup", d.warmup))
    in_range(where, f"{key}.warmup", warmup, 0, MAX_DURATION, " s", "warmup = 1, or 0 for none")
    return warmup


def load_scenario(path: Path) -> Scenario:
    """Parse and validate one scenario file; raise ScenarioError with a one-line message."""
    where = Where(str(path))
    raw = _read_toml(path)
    check_keys(where, "", raw, TOP_KEYS)
    if "scenario" not in raw:
        raise where.error("scenario", "missing table", "add [scenario] with name and platforms")
    head = check_type(where, "scenario", raw["scenario"], dict)
    check_keys(where, "scenario.", head, SCENARIO_KEYS)
    for key in ("name", "platforms"):
        if key not in head:
            raise where.error(f"scenario.{key}", "missing key", f"add {key} to [scenario]")
    for key, t in SCENARIO_KEYS.items():
        if key in head:
            check_type(where, f"scenario.{key}", head[key], t)
    d = _Defaults(
        _name(where, "scenario.name", head["name"]),
        _platforms(where, "scenario.platforms", head["platforms"]),
        head.get("rounds", 3),
        head.get("max_rounds"),
        head.get("target_ci"),
        float(head.get("duration", 5.0)),
        head.get("timeout"),
        _engines(where, raw),
        float(head.get("warmup", 1.0)),
    )
    in_range(where, "scenario.warmup", d.warmup, 0, MAX_DURATION, " s", "warmup = 1, or 0")
    in_range(where, "scenario.rounds", d.rounds, MIN_ROUNDS, MAX_ROUNDS, "")
    in_range(where, "scenario.duration", d.duration, MIN_DURATION, MAX_DURATION, " s")
    cases_raw = check_type(where, "case", raw.get("case", []), list)
    if not cases_raw:
        raise where.error("case", "no cases", "add at least one [[case]] with a workload")
    # Each case with the index of the [[case]] it came from (a sweep makes several).
    indexed = [(i, case) for i, c in enumerate(cases_raw) for case in _cases(where, i, c, d)]
    _distinct_names(where, indexed)
    cases = [case for _, case in indexed]
    passes = _passes(where, head.get("passes", 1), indexed)
    setups = _setups(where, head.get("setups", 1), passes, indexed)
    most = _max_setups(where, head.get("max_setups", setups), setups, passes)
    cases = [dataclasses.replace(c, passes=passes, setups=setups, max_setups=most) for c in cases]
    return Scenario(
        d.scenario,
        head.get("description", ""),
        str(path),
        d.platforms,
        tuple(cases),
        passes,
        setups,
        most,
    )


def _distinct_names(where: Where, indexed: list[tuple[int, Case]]) -> None:
    names = [c.name for _, c in indexed]
    for k, (i, case) in enumerate(indexed):
        if case.name in names[:k]:
            raise where.error(
                f"case[{i}].name",
                f"case name {case.name!r} is used twice",
                "give each case a distinct name",
            )


def _setups(where: Where, setups: int, passes: int, cases: list[tuple[int, Case]]) -> int:
    """Independent set-ups: every platform started afresh (a new container, guest, scratch
    file and servers) for each, each running every case's rounds; they follow each other over
    the run as passes do, so a drifting machine moves every platform alike."""
    in_range(where, "scenario.setups", setups, 1, MAX_SETUPS, "")
    if setups > 1 and passes > 1:
        raise where.error(
            "scenario.setups",
            "both scenario.setups and scenario.passes are set",
            "keep setups (each set-up is a pass on fresh platforms)",
        )
    return int(setups)


def _max_setups(where: Where, most: int, setups: int, passes: int) -> int:
    """Set-ups past `setups`, up to `max_setups`, run only where a verdict is still open: the
    report's intervals are widened for every look the design could take."""
    in_range(where, "scenario.max_setups", most, setups, MAX_SETUPS, "", "at least scenario.setups")
    if most > setups and passes > 1:
        raise where.error(
            "scenario.max_setups",
            "sequential set-ups cannot be spread over passes",
            "remove scenario.passes (each set-up is a pass on fresh platforms)",
        )
    return int(most)


def _not_adaptive(where: Where, cases: list[tuple[int, Case]], what: str, key: str) -> None:
    """Adaptive rounds stop when a set-up's rounds are precise: spread over passes they would
    stop on a part of the set-up."""
    for i, c in cases:
        if c.policy is not None and c.policy.adaptive:
            raise where.error(
                f"case[{i}].max_rounds",
                f"adaptive rounds cannot be spread over {what}",
                f"remove max_rounds and target_ci, or set scenario.{key} = 1",
            )


def _passes(where: Where, passes: int, cases: list[tuple[int, Case]]) -> int:
    """Passes over all the cases, each running a share of every case's rounds: a machine that
    drifts during the run then moves every platform alike."""
    in_range(where, "scenario.passes", passes, 1, MAX_PASSES, "")
    if passes > 1:
        _not_adaptive(where, cases, "passes", "passes")
    for i, c in cases:
        if c.rounds < passes:
            raise where.error(
                f"case[{i}].rounds",
                f"{c.rounds} round(s) cannot fill {passes} passes",
                f"give rounds >= {passes} or fewer passes",
            )
    return int(passes)
