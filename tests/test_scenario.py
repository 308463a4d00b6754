"""Scenario validation: each kind of bad file gives one line naming the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from triptych.errors import ScenarioError
from triptych.platforms.settings import DockerSettings, VmSettings
from triptych.scenario import load_scenario
from triptych.validate import size_bytes
from triptych.workloads.disk import FioParams

ROOT = Path(__file__).parent.parent
GOOD_HEAD = '[scenario]\nname = "t"\nplatforms = ["host"]\n'


def load_text(tmp_path: Path, text: str) -> object:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return load_scenario(path)


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as err:
        load_text(tmp_path, text)
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith(str(tmp_path / "s.toml") + ": "), message
    return message


FAMILIES = {"cpu", "memory", "disk", "network", "startup", "services", "density", "isolation"}


def shipped(name: str) -> tuple[set[str], set[str]]:
    """A shipped scenario's families and platforms."""
    s = load_scenario(ROOT / "scenarios" / name)
    return {c.build().family for c in s.cases}, {p for c in s.cases for p in c.platforms}


def test_shipped_scenarios_load_and_cover_every_family_and_platform() -> None:
    # quick: every family, every platform; the nightly and the weekly runs between them too
    # (the isolation matrix is weekly alone).
    quick, nightly, weekly = (shipped(n) for n in ("quick.toml", "default.toml", "weekly.toml"))
    everywhere = {"host", "docker-bridge", "docker-host", "vm"}
    assert quick == (FAMILIES, everywhere)
    assert nightly == (FAMILIES - {"isolation"}, everywhere)
    assert weekly == ({"density", "isolation", "services"}, everywhere)


def test_good_file_with_overrides(tmp_path: Path) -> None:
    s = load_text(
        tmp_path,
        GOOD_HEAD + "rounds = 4\nduration = 3\n"
        '[[case]]\nworkload = "fio"\nrounds = 2\ntimeout = 50\n'
        'params = { rw = "write", bs = "1M", iodepth = 4 }\n'
        '[[case]]\nname = "other"\nworkload = "sysbench-cpu"\n',
    )
    fio, cpu = s.cases  # type: ignore[attr-defined]
    assert fio.params == FioParams(rw="write", bs="1M", iodepth=4)
    assert (fio.rounds, fio.spec.duration, fio.spec.timeout) == (2, 3.0, 50.0)
    assert (cpu.name, cpu.rounds, cpu.platforms) == ("other", 4, ("host",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[scenario\n", "TOML syntax error"),
        ('[scenario]\nname = "t"\n[[case]]\nworkload = "fio"\n', "scenario.platforms: missing key"),
        ('[senario]\nname = "t"\n', "senario: unknown key; did you mean 'scenario'?"),
        (GOOD_HEAD + "roundz = 3\n", "scenario.roundz: unknown key; did you mean 'rounds'?"),
        (GOOD_HEAD, "case: no cases"),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fi0"\n',
            "case[0].workload: unknown workload 'fi0'; did you mean 'fio'?",
        ),
        (GOOD_HEAD + '[[case]]\nname = "x"\n', "case[0].workload: missing key"),
        (
            '[scenario]\nname = "t"\nplatforms = ["hots"]\n',
            "scenario.platforms[0]: unknown platform 'hots'; did you mean 'host'?",
        ),
        ('[scenario]\nname = "t"\nplatforms = "host"\n', "scenario.platforms: expected a list"),
        ('[scenario]\nname = "t"\nplatforms = []\n', "scenario.platforms: empty list"),
        (GOOD_HEAD + 'rounds = "three"\n', "scenario.rounds: expected an integer, got str 'three'"),
        (GOOD_HEAD + "rounds = 0\n", "scenario.rounds: 0 is out of range"),
        (
            GOOD_HEAD + "duration = -5\n",
            "scenario.duration: -5 s is out of range; use a value from 1 to 3600 s",
        ),
        (GOOD_HEAD + "duration = 1e9\n", "scenario.duration: 1e+09 s is out of range"),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\nduration = true\n',
            "case[0].duration: expected a number, got bool",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\ntimeout = 1\nduration = 2\n',
            "case[0].timeout: 1 s is not longer than the duration 2 s",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "stress-ng-stream"\nduration = 2\n',
            "case[0].duration: stress-ng-stream needs at least 5 s",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\nparams = { iodepht = 4 }\n',
            "case[0].params.iodepht: fio has no parameter 'iodepht'; did you mean 'iodepth'?",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\nparams = { iodepth = "4" }\n',
            "case[0].params.iodepth: expected an integer, got str '4'",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\nparams = { iodepth = 0 }\n',
            "case[0].params.iodepth: 0 is out of range; use a value from 1 to 1024",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\nparams = { rw = "randrw" }\n',
            "case[0].params.rw: 'randrw' is not accepted by fio; did you mean 'randread'?",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\nparams = { bs = "4 KiB" }\n',
            "case[0].params.bs: '4 KiB' is not a size; write a size like 4k",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\nparams = { direct = 1 }\n',
            "case[0].params.direct: expected true or false",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\n[[case]]\nworkload = "fio"\n',
            "case[1].name: case name 'fio' is used twice",
        ),
        (
            GOOD_HEAD + '[[case]]\nworkload = "fio"\nplatforms = ["vm", "kvm"]\n',
            "case[0].platforms[1]: unknown platform 'kvm'",
        ),
        (
            GOOD_HEAD + '[docker]\ncpu = 2\n[[case]]\nworkload = "fio"\n',
            "docker.cpu: unknown key; did you mean 'cpus'?",
        ),
        (
            GOOD_HEAD + '[docker]\ncpus = 0\n[[case]]\nworkload = "fio"\n',
            "docker.cpus: 0 is out of range",
        ),
        (
            GOOD_HEAD + '[docker]\ncpuset = "0;1"\n[[case]]\nworkload = "fio"\n',
            "docker.cpuset: '0;1' is not a CPU list",
        ),
        (
            GOOD_HEAD + '[docker]\nmemory = "2 GB"\n[[case]]\nworkload = "fio"\n',
            "docker.memory: '2 GB' is not a memory size",
        ),
        # One host CPU per vCPU: a range would pin one vCPU to several CPUs.
        (
            GOOD_HEAD + '[vm]\nvcpus = 1\ncpu_pins = "0-3"\n[[case]]\nworkload = "fio"\n',
            "vm.cpu_pins: '0-3' is not a list of single CPUs; give one host CPU per vCPU",
        ),
        (
            GOOD_HEAD + '[vm]\nvcpus = 1\ncpu_pins = "0,1"\n[[case]]\nworkload = "fio"\n',
            "vm.cpu_pins: 2 CPU(s) for 1 vCPU(s); list one host CPU per vCPU",
        ),
        (
            GOOD_HEAD + '[vm]\ncpu_pins = "0"\n[[case]]\nworkload = "fio"\n',
            "vm.cpu_pins: 1 CPU(s) for 2 vCPU(s)",
        ),
        (
            GOOD_HEAD
            + '[vm]\ndisk_cache = "writeback"\ndisk_io = "native"\n[[case]]\nworkload = "fio"\n',
            'vm.disk_io: native I/O needs disk_cache = "none" or "directsync"',
        ),
        (
            GOOD_HEAD + 'warmup = -1\n[[case]]\nworkload = "fio"\n',
            "scenario.warmup: -1 s is out of range; use a value from 0 to 3600 s",
        ),
        (
            GOOD_HEAD + '[vm]\nprofile = "tunned"\n[[case]]\nworkload = "fio"\n',
            "vm.profile: 'tunned' is not accepted by vm; did you mean 'tuned'?",
        ),
        (
            GOOD_HEAD + '[vm]\nprofiles = ["tuned", "fast"]\n[[case]]\nworkload = "fio"\n',
            "vm.profiles: 'fast' is not a guest profile; use one of default, tuned",
        ),
        (
            GOOD_HEAD + '[vm]\nprofiles = ["tuned", "tuned"]\n[[case]]\nworkload = "fio"\n',
            "vm.profiles: expected distinct guest profiles",
        ),
        (
            GOOD_HEAD
            + '[vm]\nprofile = "tuned"\nprofiles = ["tuned"]\n[[case]]\nworkload = "fio"\n',
            "vm.profiles: both vm.profile and vm.profiles are set; keep one of them",
        ),
        (
            GOOD_HEAD + '[vm]\nprofiles = "tuned"\n[[case]]\nworkload = "fio"\n',
            "vm.profiles: expected a list, got str 'tuned'",
        ),
        (
            GOOD_HEAD + '[docker]\nruntimes = ["runc", "runcs"]\n[[case]]\nworkload = "fio"\n',
            "docker.runtimes: 'runcs' is not a container runtime; did you mean 'runc'?",
        ),
        (
            GOOD_HEAD + '[docker]\nruntimes = []\n[[case]]\nworkload = "fio"\n',
            "docker.runtimes: expected distinct container runtimes; write e.g. runtimes = ",
        ),
        (
            GOOD_HEAD
            + '[docker]\nruntime = "runsc"\nruntimes = ["runc"]\n[[case]]\nworkload = "fio"\n',
            "docker.runtimes: both docker.runtime and docker.runtimes are set; keep one of them",
        ),
        (
            GOOD_HEAD + '[docker]\nruntime = "kata"\n[[case]]\nworkload = "fio"\n',
            "docker.runtime: 'kata' is not accepted by docker; use one of crun, runc, runsc",
        ),
        (
            GOOD_HEAD + '[vm]\nacceleration = "kvn"\n[[case]]\nworkload = "fio"\n',
            "vm.acceleration: 'kvn' is not accepted by vm; did you mean 'kvm'?",
        ),
        (
            GOOD_HEAD + '[vm]\nmemory_mib = 16\n[[case]]\nworkload = "fio"\n',
            "vm.memory_mib: 16 MiB is out of range; use a value from 256 to 1048576 MiB",
        ),
        (
            GOOD_HEAD + '[vm]\nkernel = "/nonexistent/vmlinuz"\n[[case]]\nworkload = "fio"\n',
            "vm.kernel: /nonexistent/vmlinuz does not exist; give the path of an existing file",
        ),
        (
            GOOD_HEAD + '[vm]\nvcpu = 2\n[[case]]\nworkload = "fio"\n',
            "vm.vcpu: unknown key; did you mean 'vcpus'?",
        ),
        (
            GOOD_HEAD + '[docker]\nimage = ""\n[[case]]\nworkload = "fio"\n',
            "docker.image: '' is not an image name; name a local image or remove the key",
        ),
        (
            GOOD_HEAD + 'passes = 4\nrounds = 3\n[[case]]\nworkload = "fio"\n',
            "case[0].rounds: 3 round(s) cannot fill 4 passes; give rounds >= 4",
        ),
        (
            GOOD_HEAD + 'passes = 0\n[[case]]\nworkload = "fio"\n',
            "scenario.passes: 0 is out of range; use a value from 1 to 100",
        ),
        (
            GOOD_HEAD
            + 'passes = 2\nmax_rounds = 9\ntarget_ci = 0.02\n[[case]]\nworkload = "fio"\n',
            "case[0].max_rounds: adaptive rounds cannot be spread over passes",
        ),
        # Names become test ids, file names and report text.
        (
            GOOD_HEAD + '[[case]]\nname = "a\\" onload=\\"x"\nworkload = "fio"\n',
            "case[0].name: 'a\" onload=\"x' is not a valid name; use up to 64 letters",
        ),
        (
            '[scenario]\nname = "my scenario"\nplatforms = ["host"]\n[[case]]\nworkload = "fio"\n',
            "scenario.name: 'my scenario' is not a valid name",
        ),
    ],
)
def test_bad_file(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_for(tmp_path, text)


def test_rounds_spread_over_passes_as_evenly_as_they_go(tmp_path: Path) -> None:
    s = load_text(tmp_path, GOOD_HEAD + 'passes = 3\nrounds = 7\n[[case]]\nworkload = "fio"\n')
    (case,) = s.cases  # type: ignore[attr-defined]
    assert [case.rounds_in_pass(i) for i in range(3)] == [3, 2, 2]
    assert [case.first_round(i) for i in range(3)] == [0, 3, 5]


def test_vm_pins_one_cpu_per_vcpu(tmp_path: Path) -> None:
    s = load_text(
        tmp_path, GOOD_HEAD + '[vm]\nvcpus = 2\ncpu_pins = "1,0"\n[[case]]\nworkload = "fio"\n'
    )
    assert s.cases[0].engines.vm == VmSettings(vcpus=2, cpu_pins="1,0")  # type: ignore[attr-defined]


def test_warmup_defaults_to_a_second_and_can_be_turned_off(tmp_path: Path) -> None:
    s = load_text(
        tmp_path,
        GOOD_HEAD
        + '[[case]]\nworkload = "fio"\n[[case]]\nname = "b"\nworkload = "fio"\nwarmup = 0\n',
    )
    first, second = s.cases  # type: ignore[attr-defined]
    assert first.warmup == 1.0
    assert first.warmup_spec(1.0).duration == 1.0
    assert second.warmup_spec(1.0) is None
    # At least what the tool needs, never longer than a round.
    assert first.warmup_spec(5.0).duration == min(5.0, first.spec.duration)


def test_vm_profiles_reach_every_case(tmp_path: Path) -> None:
    s = load_text(
        tmp_path, GOOD_HEAD + '[vm]\nprofiles = ["tuned", "default"]\n[[case]]\nworkload = "fio"\n'
    )
    engines = s.cases[0].engines  # type: ignore[attr-defined]
    assert engines.vm_profiles == ("tuned", "default")
    assert engines.with_vm_profile("default").vm.profile == "default"


def test_docker_runtimes_run_side_by_side(tmp_path: Path) -> None:
    s = load_text(
        tmp_path, GOOD_HEAD + '[docker]\nruntimes = ["runc", "runsc"]\n[[case]]\nworkload = "fio"\n'
    )
    engines = s.cases[0].engines  # type: ignore[attr-defined]
    assert engines.docker_runtimes == ("runc", "runsc")
    assert engines.side_by_side("docker-host") == ("runc", "runsc")
    assert engines.side_by_side("host") == ()
    assert engines.with_instance("docker-bridge", "runsc").docker.runtime == "runsc"
    assert engines.docker.runtime == "runc"  # the default, where no single runtime is named


def test_docker_settings_reach_every_case(tmp_path: Path) -> None:
    s = load_text(
        tmp_path,
        GOOD_HEAD + '[docker]\ncpus = 1.5\ncpuset = "0"\nmemory = "2g"\nimage = "mine:1"\n'
        '[[case]]\nworkload = "fio"\n[[case]]\nworkload = "sysbench-cpu"\n',
    )
    expected = DockerSettings(image="mine:1", cpus=1.5, cpuset="0", memory="2g")
    assert [c.engines.docker for c in s.cases] == [expected, expected]  # type: ignore[attr-defined]


def test_adaptive_round_policy(tmp_path: Path) -> None:
    s = load_text(
        tmp_path,
        GOOD_HEAD + "rounds = 3\nmax_rounds = 20\ntarget_ci = 0.02\n"
        '[[case]]\nworkload = "fio"\n[[case]]\nworkload = "sysbench-cpu"\nmax_rounds = 5\n',
    )
    fio, cpu = s.cases  # type: ignore[attr-defined]
    assert (fio.policy.rounds, fio.policy.max_rounds, fio.policy.target_ci) == (3, 20, 0.02)
    assert fio.policy.adaptive
    assert cpu.policy.max_rounds == 5
    assert "max_rounds: 2 is out of range" in error_for(
        tmp_path,
        GOOD_HEAD + 'rounds = 3\nmax_rounds = 2\ntarget_ci = 0.1\n[[case]]\nworkload = "fio"\n',
    )
    assert "max_rounds: target_ci needs max_rounds" in error_for(
        tmp_path, GOOD_HEAD + 'target_ci = 0.02\n[[case]]\nworkload = "fio"\n'
    )
    # max_rounds alone: rounds stop against the family's set-up spread (triptych.stopping).
    (alone,) = load_text(
        tmp_path, GOOD_HEAD + 'rounds = 2\nmax_rounds = 6\n[[case]]\nworkload = "fio"\n'
    ).cases  # type: ignore[attr-defined]
    assert (alone.policy.rounds, alone.policy.max_rounds, alone.policy.target_ci) == (2, 6, None)
    assert alone.policy.adaptive
    assert "target_ci: 5 is not a fraction" in error_for(
        tmp_path, GOOD_HEAD + 'max_rounds = 9\ntarget_ci = 5\n[[case]]\nworkload = "fio"\n'
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope.toml: file not found; pass an existing"):
        load_scenario(tmp_path / "nope.toml")


def test_a_connections_list_is_one_case_per_value(tmp_path: Path) -> None:
    s = load_text(
        tmp_path,
        GOOD_HEAD + '[[case]]\nname = "kv"\nworkload = "redis"\n'
        "params = { connections = [1, 8, 32], pipeline = 4 }\n"
        '[[case]]\nworkload = "nginx"\nparams = { connections = 16 }\n',
    )
    names = [(c.name, c.series, c.params.connections) for c in s.cases]  # type: ignore[attr-defined]
    assert names == [
        ("kv-c1", "kv", 1),
        ("kv-c8", "kv", 8),
        ("kv-c32", "kv", 32),
        ("nginx", "", 16),
    ]
    assert {c.params.pipeline for c in s.cases[:3]} == {4}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("connections = []", "case[0].params.connections: expected distinct values; write e.g."),
        ("connections = [8, 8]", "case[0].params.connections: expected distinct values"),
        (
            "connections = [1, 0]",
            "case[0].params.connections: 0 is out of range; use a value from 1 to 10000",
        ),
        ('connections = [1, "many"]', "case[0].params.connections: expected an integer"),
        ("pipeline = [1, 2]", "case[0].params.pipeline: expected an integer"),
    ],
)
def test_bad_connections_lists(tmp_path: Path, params: str, expected: str) -> None:
    text = GOOD_HEAD + f'[[case]]\nworkload = "redis"\nparams = {{ {params} }}\n'
    assert expected in error_for(tmp_path, text)


def test_a_sweep_cannot_repeat_another_case_name(tmp_path: Path) -> None:
    text = GOOD_HEAD + (
        '[[case]]\nname = "kv-c8"\nworkload = "redis"\n'
        '[[case]]\nname = "kv"\nworkload = "redis"\nparams = { connections = [1, 8] }\n'
    )
    assert "case[1].name: case name 'kv-c8' is used twice" in error_for(tmp_path, text)


@pytest.mark.parametrize(
    ("workload", "params", "expected"),
    [
        (
            "nginx",
            'size = "10m"',
            "case[0].params.size: '10m' is not accepted by nginx; use one of 100k, 1k",
        ),
        (
            "postgres",
            'mode = "tpcc"',
            "case[0].params.mode: 'tpcc' is not accepted by postgres; use one of select-only, tpcb-like",
        ),
        (
            "postgres",
            "scale = 0",
            "case[0].params.scale: 0 is out of range; use a value from 1 to 1000",
        ),
        ("redis", "value_size = 0", "case[0].params.value_size: 0 is out of range"),
        ("redis", "conections = 8", "did you mean 'connections'?"),
    ],
)
def test_bad_service_parameters(tmp_path: Path, workload: str, params: str, expected: str) -> None:
    text = GOOD_HEAD + f'[[case]]\nworkload = "{workload}"\nparams = {{ {params} }}\n'
    assert expected in error_for(tmp_path, text)


CASE = '[[case]]\nworkload = "sysbench-cpu"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Patterns match the whole value: a trailing newline is not a name.
        (GOOD_HEAD + '[[case]]\nname = "cpu\\n"\nworkload = "sysbench-cpu"\n', "case[0].name: "),
        (GOOD_HEAD + '[[case]]\nworkload = "fio"\nparams = { size = "256M\\n" }\n', "not a size"),
        ('[scenario]\nname = "t\\n"\nplatforms = ["host"]\n' + CASE, "is not a valid name"),
        # Numbers: too large for a float, not finite, out of range.
        (GOOD_HEAD + "rounds = " + "9" * 400 + "\n" + CASE, "scenario.rounds: the integer is too"),
        (GOOD_HEAD + "timeout = nan\n" + CASE, "scenario.timeout: nan is not a finite number"),
        (GOOD_HEAD + "timeout = inf\n" + CASE, "scenario.timeout: inf is not a finite number"),
        (GOOD_HEAD + "duration = -inf\n" + CASE, "scenario.duration: -inf is not a finite"),
        (GOOD_HEAD + CASE + "timeout = 1e9\n", "case[0].timeout: 1e+09 s is out of range"),
        (
            GOOD_HEAD + CASE + "params = { threads = " + "1" * 5000 + " }\n",
            "too large or too deeply",
        ),
        # CPU lists name CPUs this machine has.
        (GOOD_HEAD + '[docker]\ncpuset = "0-4095"\n' + CASE, "docker.cpuset: CPU(s) 2,3,4"),
        (GOOD_HEAD + '[docker]\ncpuset = "99999"\n' + CASE, "beyond this machine's"),
        (GOOD_HEAD + '[docker]\ncpuset = "1-0"\n' + CASE, "runs backwards"),
        (GOOD_HEAD + '[vm]\nvcpus = 1\ncpu_pins = "7"\n' + CASE, "vm.cpu_pins: CPU(s) 7 are not"),
    ],
)
def test_hostile_values_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_for(tmp_path, text)


def test_adaptive_rounds_run_in_each_set_up_and_number_apart(tmp_path: Path) -> None:
    (case,) = load_text(
        tmp_path, GOOD_HEAD + 'setups = 3\nrounds = 2\nmax_rounds = 5\n[[case]]\nworkload = "fio"\n'
    ).cases  # type: ignore[attr-defined]
    assert case.setups == 3
    assert case.policy.adaptive
    # Each set-up's round numbers leave room for its most rounds: 0-4, 5-9, 10-14.
    assert [case.first_round(0, s) for s in range(3)] == [0, 5, 10]


@pytest.mark.parametrize(
    ("head", "error"),
    [
        ("setups = 0\n", "scenario.setups: 0 is out of range; use a value from 1 to 20"),
        (
            "setups = 2\npasses = 2\n",
            "scenario.setups: both scenario.setups and scenario.passes are set; keep setups",
        ),
        (
            "setups = 3\nmax_setups = 2\n",
            "scenario.max_setups: 2 is out of range; use a value from 3 to 20 (e.g. at least",
        ),
        ("max_setups = 21\n", "scenario.max_setups: 21 is out of range"),
        ("max_setups = 1.5\n", "scenario.max_setups"),
        ("max_setups = 2\npasses = 2\n", "scenario.max_setups: sequential set-ups cannot be"),
    ],
)
def test_setups_are_checked(tmp_path: Path, head: str, error: str) -> None:
    with pytest.raises(ScenarioError) as e:
        load_text(tmp_path, GOOD_HEAD + head + '[[case]]\nworkload = "fio"\n')
    assert error in str(e.value)


def test_sequential_set_ups_are_the_scenario_s_design(tmp_path: Path) -> None:
    text = GOOD_HEAD + 'setups = 2\nmax_setups = 4\n[[case]]\nworkload = "fio"\n'
    scenario = load_text(tmp_path, text)
    (case,) = scenario.cases  # type: ignore[attr-defined]
    assert (case.setups, case.max_setups, case.looks) == (2, 4, 3)
    assert scenario.max_setups == 4  # type: ignore[attr-defined]
    (fixed,) = load_text(tmp_path, GOOD_HEAD + '[[case]]\nworkload = "fio"\n').cases  # type: ignore[attr-defined]
    assert (fixed.setups, fixed.max_setups, fixed.looks) == (1, 1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), ("64b", 64), ("4k", 4096), ("4K", 4096), ("256M", 268435456),
     ("512m", 536870912), ("2g", 2147483648)],
)  # fmt: skip
def test_sizes_are_powers_of_1024_whoever_writes_them(text: str, expected: int) -> None:
    """fio's sizes ([workload] size = "256M") and Docker's ([docker] memory = "512m") are
    read by one rule, as both tools read them."""
    assert size_bytes(text) == expected
