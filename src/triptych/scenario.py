"""Scenario files (TOML): which workloads, with which parameters, on which platforms, how often.

Every mistake is reported before anything runs, in one line naming the file, the key and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triptych.errors import ScenarioError
from triptych.platforms.docker import DockerSettings
from triptych.platforms.names import PLATFORM_NAMES
from triptych.platforms.registry import EngineSettings
from triptych.platforms.vm import VmSettings
from triptych.workloads.base import RunSpec, Workload
from triptych.workloads.registry import WORKLOADS

MIN_DURATION, MAX_DURATION = 1.0, 3600.0
MIN_ROUNDS, MAX_ROUNDS = 1, 1000
# Keys a case may set, and the scenario may set as the default of every case.
_SHARED_KEYS = {
    "platforms": list,
    "rounds": int,
    "max_rounds": int,
    "target_ci": float,
    "duration": float,
    "timeout": float,
}
SCENARIO_KEYS = {"name": str, "description": str, **_SHARED_KEYS}
CASE_KEYS = {"name": str, "workload": str, "params": dict, **_SHARED_KEYS}
TOP_KEYS = {"scenario": dict, "case": list, "docker": dict, "vm": dict}
VM_KEYS = {
    "acceleration": str,
    "vcpus": int,
    "memory_mib": int,
    "cpu_pins": str,
    "disk_cache": str,
    "disk_io": str,
    "kernel": str,
    "initrd": str,
    "disk": str,
}
VM_CHOICES = {
    "acceleration": ("auto", "kvm", "qemu"),
    "disk_cache": ("none", "writeback", "writethrough", "directsync", "unsafe"),
    "disk_io": ("native", "threads", "io_uring"),
}
DOCKER_KEYS = {"image": str, "cpus": float, "cpuset": str, "memory": str}
CPUSET = re.compile(r"^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$")
MEMORY = re.compile(r"^[1-9][0-9]*[bkmgBKMG]?$")


@dataclass(frozen=True)
class RoundPolicy:
    """How many rounds: at least `rounds`; more, up to max_rounds, until the 95% CI half-width
    of the case's first metric is under target_ci of its mean (a bounded dynamic run count)."""

    rounds: int
    max_rounds: int
    target_ci: float | None

    @property
    def adaptive(self) -> bool:
        return self.target_ci is not None and self.max_rounds > self.rounds


@dataclass(frozen=True)
class Case:
    """One workload with its parameters, as a scenario asks for it."""

    scenario: str
    name: str
    workload: str
    params: Any
    rounds: int
    spec: RunSpec
    platforms: tuple[str, ...]
    source: str
    engines: EngineSettings = field(default_factory=EngineSettings)
    policy: RoundPolicy | None = None

    @property
    def docker(self) -> DockerSettings:
        return self.engines.docker

    @property
    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    def build(self) -> Workload:
        workload: Workload = WORKLOADS[self.workload](self.params, self.spec)  # type: ignore[assignment]
        return workload


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: str
    platforms: tuple[str, ...]
    cases: tuple[Case, ...]


class _Where:
    """Builds the one-line error: file: key: problem; fix."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, key: str, problem: str, fix: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {key}: {problem}; {fix}")


def _suggest(word: str, choices: Any) -> str:  # noqa: ANN401
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(sorted(choices))}"


def _type_name(t: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }[t]


def _check_type(where: _Where, key: str, value: object, t: type) -> Any:  # noqa: ANN401
    ok = (
        isinstance(value, bool)
        if t is bool
        else isinstance(value, int | float) and not isinstance(value, bool)
        if t is float
        else isinstance(value, int) and not isinstance(value, bool)
        if t is int
        else isinstance(value, t)
    )
    if not ok:
        raise where.error(
            key,
            f"expected {_type_name(t)}, got {type(value).__name__} {value!r}",
            f"write {key.rsplit('.', 1)[-1]} as {_type_name(t)}",
        )
    return float(value) if t is float else value  # type: ignore[arg-type]


def _check_keys(
    where: _Where, prefix: str, table: Mapping[str, Any], known: Mapping[str, type]
) -> None:
    for key in table:
        if key not in known:
            raise where.error(f"{prefix}{key}", "unknown key", _suggest(key, known))


def _platforms(where: _Where, key: str, value: object) -> tuple[str, ...]:
    items = _check_type(where, key, value, list)
    if not items:
        raise where.error(key, "empty list", f"name at least one of {', '.join(PLATFORM_NAMES)}")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise where.error(
                f"{key}[{i}]",
                f"expected a platform name, got {item!r}",
                f"use one of {', '.join(PLATFORM_NAMES)}",
            )
        if item not in PLATFORM_NAMES:
            raise where.error(
                f"{key}[{i}]", f"unknown platform {item!r}", _suggest(item, PLATFORM_NAMES)
            )
    return tuple(items)


def _ranged(where: _Where, key: str, value: float, low: float, high: float, unit: str) -> None:
    if not low <= value <= high:
        raise where.error(
            key, f"{value:g}{unit} is out of range", f"use a value from {low:g} to {high:g}{unit}"
        )


def _params(where: _Where, key: str, workload: str, given: Mapping[str, Any]) -> Any:  # noqa: ANN401
    ptype = WORKLOADS[workload].Params
    fields = {f.name: f for f in dataclasses.fields(ptype)}
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name not in fields:
            raise where.error(
                f"{key}.{name}", f"{workload} has no parameter {name!r}", _suggest(name, fields)
            )
        f = fields[name]
        t = {"int": int, "float": float, "str": str, "bool": bool}[str(f.type)]
        v = _check_type(where, f"{key}.{name}", value, t)
        meta = f.metadata
        hint = f" (e.g. {meta['hint']})" if meta.get("hint") else ""
        if meta.get("choices") and v not in meta["choices"]:
            raise where.error(
                f"{key}.{name}",
                f"{v!r} is not accepted by {workload}",
                _suggest(v, meta["choices"]),
            )
        if meta.get("pattern") is not None and not meta["pattern"].match(v):
            raise where.error(
                f"{key}.{name}", f"{v!r} is not a size", f"write a size like 4k, 64M or 1G{hint}"
            )
        low, high = meta.get("low"), meta.get("high")
        if (low is not None and v < low) or (high is not None and v > high):
            raise where.error(
                f"{key}.{name}",
                f"{v!r} is out of range",
                f"use a value from {low:g} to {high:g}{hint}",
            )
        values[name] = v
    return ptype(**values)


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


def _policy(
    where: _Where, key: str, rounds: int, max_rounds: int | None, target: float | None
) -> RoundPolicy:
    """Fixed rounds, or adaptive: repeat until the CI is tight enough, within max_rounds."""
    if max_rounds is None and target is None:
        return RoundPolicy(rounds, rounds, None)
    if max_rounds is None or target is None:
        missing = "target_ci" if target is None else "max_rounds"
        raise where.error(
            f"{key}.{missing}",
            "adaptive rounds need both max_rounds and target_ci",
            f"add {missing} (e.g. max_rounds = 20, target_ci = 0.02)",
        )
    _ranged(where, f"{key}.max_rounds", max_rounds, max(rounds, 2), MAX_ROUNDS, "")
    if not 0 < target < 1:
        raise where.error(
            f"{key}.target_ci",
            f"{target:g} is not a fraction of the mean",
            "give the 95% CI half-width as a fraction, e.g. 0.02 for 2%",
        )
    return RoundPolicy(max(rounds, 2), max_rounds, target)


def _table(where: _Where, name: str, raw: object, keys: Mapping[str, type]) -> dict[str, Any]:
    """A table with only known keys, each of its declared type (ints widened for floats)."""
    table = _check_type(where, name, raw, dict)
    _check_keys(where, f"{name}.", table, keys)
    return {k: _check_type(where, f"{name}.{k}", v, keys[k]) for k, v in table.items()}


def _cpu_pins(where: _Where, pins: str, vcpus: int) -> None:
    if not re.fullmatch(r"[0-9]+(,[0-9]+)*", pins):
        raise where.error(
            "vm.cpu_pins", f"{pins!r} is not a CPU list", 'give one host CPU per vCPU, like "0,1"'
        )
    if len(pins.split(",")) != vcpus:
        raise where.error(
            "vm.cpu_pins",
            f"{len(pins.split(','))} CPUs for {vcpus} vCPUs",
            "list one host CPU per vCPU (as many as vm.vcpus)",
        )


def _vm(where: _Where, raw: object) -> VmSettings:
    table = _table(where, "vm", raw, VM_KEYS)
    for key, choices in VM_CHOICES.items():
        if key in table and table[key] not in choices:
            raise where.error(
                f"vm.{key}", f"{table[key]!r} is not accepted", _suggest(table[key], choices)
            )
    if "vcpus" in table:
        _ranged(where, "vm.vcpus", table["vcpus"], 1, 256, "")
    if "memory_mib" in table:
        _ranged(where, "vm.memory_mib", table["memory_mib"], 256, 1_048_576, " MiB")
    if "cpu_pins" in table:
        if not CPUSET.match(table["cpu_pins"]):
            raise where.error(
                "vm.cpu_pins",
                f"{table['cpu_pins']!r} is not a CPU list",
                'give one host CPU per vCPU, like "0,1"',
            )
        if len(table["cpu_pins"].split(",")) != table.get("vcpus", VmSettings().vcpus):
            raise where.error(
                "vm.cpu_pins", "one host CPU per vCPU is needed", "list as many CPUs as vm.vcpus"
            )
    native = table.get("disk_io", "native") == "native"
    if native and table.get("disk_cache", "none") not in ("none", "directsync"):
        raise where.error(
            "vm.disk_io",
            'native I/O needs disk_cache = "none" or "directsync"',
            'set disk_io = "threads" or change disk_cache',
        )
    for key in ("kernel", "initrd", "disk"):
        if key in table and not Path(table[key]).is_file():
            raise where.error(
                f"vm.{key}", f"{table[key]} does not exist", "give the path of an existing file"
            )
    if "initrd" in table and "kernel" not in table:
        raise where.error("vm.initrd", "an initrd without a kernel", "add vm.kernel too")
    if "disk" in table and "kernel" not in table:
        raise where.error(
            "vm.disk",
            "a disk of your own needs its kernel",
            "add vm.kernel (and vm.initrd) that boot it",
        )
    return VmSettings(**table)


def _docker(where: _Where, raw: object) -> DockerSettings:
    table = _table(where, "docker", raw, DOCKER_KEYS)
    if "cpus" in table:
        _ranged(where, "docker.cpus", table["cpus"], 0.01, 1024, "")
    if "cpuset" in table and not CPUSET.match(table["cpuset"]):
        raise where.error(
            "docker.cpuset",
            f"{table['cpuset']!r} is not a CPU list",
            'write it like "0" or "0-1" or "0,2"',
        )
    if "memory" in table and not MEMORY.match(table["memory"]):
        raise where.error(
            "docker.memory",
            f"{table['memory']!r} is not a memory size",
            'write it like "512m" or "2g"',
        )
    if table.get("image") == "":
        raise where.error(
            "docker.image", "empty image name", "name a local image or remove the key"
        )
    return DockerSettings(**table)


def _case(where: _Where, i: int, raw: object, d: _Defaults) -> Case:
    key = f"case[{i}]"
    c = _check_type(where, key, raw, dict)
    _check_keys(where, f"{key}.", c, CASE_KEYS)
    for k, t in CASE_KEYS.items():
        if k in c:
            _check_type(where, f"{key}.{k}", c[k], t)
    if "workload" not in c:
        raise where.error(
            f"{key}.workload",
            "missing key",
            f"add workload = one of {', '.join(sorted(WORKLOADS))}",
        )
    workload = c["workload"]
    if workload not in WORKLOADS:
        raise where.error(
            f"{key}.workload", f"unknown workload {workload!r}", _suggest(workload, WORKLOADS)
        )
    rounds = c.get("rounds", d.rounds)
    _ranged(where, f"{key}.rounds", rounds, MIN_ROUNDS, MAX_ROUNDS, "")
    policy = _policy(
        where, key, rounds, c.get("max_rounds", d.max_rounds), c.get("target_ci", d.target_ci)
    )
    duration = float(c.get("duration", d.duration))
    _ranged(where, f"{key}.duration", duration, MIN_DURATION, MAX_DURATION, " s")
    least = WORKLOADS[workload].min_duration
    if duration < least:
        raise where.error(
            f"{key}.duration",
            f"{workload} needs at least {least:g} s to report a figure, got {duration:g} s",
            f"set duration = {least:g} or more in this case",
        )
    timeout = c.get("timeout", d.timeout)
    timeout = float(timeout) if timeout is not None else max(120.0, 10 * duration)
    if timeout <= duration:
        raise where.error(
            f"{key}.timeout" if "timeout" in c else "scenario.timeout",
            f"{timeout:g} s is not longer than the duration {duration:g} s",
            "allow more time than the measurement",
        )
    platforms = (
        _platforms(where, f"{key}.platforms", c["platforms"]) if "platforms" in c else d.platforms
    )
    params = _params(where, f"{key}.params", workload, c.get("params", {}))
    return Case(
        d.scenario,
        c.get("name", workload),
        workload,
        params,
        rounds,
        RunSpec(duration, timeout),
        platforms,
        where.path,
        d.engines,
        policy,
    )


def load_scenario(path: Path) -> Scenario:
    """Parse and validate one scenario file; raise ScenarioError with a one-line message."""
    where = _Where(str(path))
    raw = _read_toml(path)
    _check_keys(where, "", raw, TOP_KEYS)
    if "scenario" not in raw:
        raise where.error("scenario", "missing table", "add [scenario] with name and platforms")
    head = _check_type(where, "scenario", raw["scenario"], dict)
    _check_keys(where, "scenario.", head, SCENARIO_KEYS)
    for key in ("name", "platforms"):
        if key not in head:
            raise where.error(f"scenario.{key}", "missing key", f"add {key} to [scenario]")
    for key, t in SCENARIO_KEYS.items():
        if key in head:
            _check_type(where, f"scenario.{key}", head[key], t)
    d = _Defaults(
        head["name"],
        _platforms(where, "scenario.platforms", head["platforms"]),
        head.get("rounds", 3),
        head.get("max_rounds"),
        head.get("target_ci"),
        float(head.get("duration", 5.0)),
        head.get("timeout"),
        EngineSettings(_docker(where, raw.get("docker", {})), _vm(where, raw.get("vm", {}))),
    )
    _ranged(where, "scenario.rounds", d.rounds, MIN_ROUNDS, MAX_ROUNDS, "")
    _ranged(where, "scenario.duration", d.duration, MIN_DURATION, MAX_DURATION, " s")
    cases_raw = _check_type(where, "case", raw.get("case", []), list)
    if not cases_raw:
        raise where.error("case", "no cases", "add at least one [[case]] with a workload")
    cases = [_case(where, i, c, d) for i, c in enumerate(cases_raw)]
    names = [c.name for c in cases]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise where.error(
                f"case[{i}].name",
                f"case name {name!r} is used twice",
                "give each case a distinct name",
            )
    return Scenario(d.scenario, head.get("description", ""), str(path), d.platforms, tuple(cases))
