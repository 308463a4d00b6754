"""The pytest plugin, driven through pytester: a real run on the host saves real metrics."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from triptych.results.load import load_runs

ROOT = Path(__file__).parent.parent

ALL_FAMILIES = """
[scenario]
name = "t"
platforms = ["host"]
rounds = 2
duration = 1

[[case]]
name = "cpu"
workload = "sysbench-cpu"

[[case]]
name = "cpu-stress"
workload = "stress-ng-cpu"

[[case]]
name = "mem-bw"
workload = "stress-ng-stream"
rounds = 1
duration = 5

[[case]]
name = "mem-lat"
workload = "sysbench-memory-random"
params = { buffer = "16M" }

[[case]]
name = "disk"
workload = "fio"
params = { rw = "randread", size = "16M" }

[[case]]
name = "net-tput"
workload = "iperf3-tcp"

[[case]]
name = "net-lat"
workload = "sockperf-pingpong"
"""


def setup_suite(pytester: pytest.Pytester, scenario: str) -> None:
    shutil.copy(ROOT / "bench" / "test_triptych.py", pytester.path / "test_triptych.py")
    (pytester.path / "s.toml").write_text(scenario)


def fake_tool(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, script: str
) -> None:
    """Put a broken stand-in for one tool first on PATH; every other tool stays the real one."""
    fake = pytester.path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / name).write_text(script)
    (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")


def run_cpu_cases_with_fake_sysbench(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, script: str, benchmark_option: str
) -> pytest.RunResult:
    """The cpu cases of the full scenario on the host, with a stand-in sysbench first on PATH."""
    setup_suite(pytester, ALL_FAMILIES)
    fake_tool(pytester, monkeypatch, "sysbench", script)
    return pytester.runpytest_subprocess(
        benchmark_option,
        "--triptych-scenarios=s.toml",
        "-k",
        "cpu",
        "-p",
        "no:cacheprovider",
        f"--triptych-scratch={pytester.path}/scratch",
    )


def saved_run(pytester: pytest.Pytester) -> dict:  # type: ignore[type-arg]
    (path,) = (pytester.path / ".benchmarks").rglob("*.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


@pytest.mark.slow
def test_real_host_run_saves_samples_of_every_family(pytester: pytest.Pytester) -> None:
    setup_suite(pytester, ALL_FAMILIES)
    result = pytester.runpytest_subprocess(
        "--benchmark-save=t",
        "--triptych-scenarios=s.toml",
        f"--triptych-scratch={pytester.path}/scratch",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=7)
    doc = saved_run(pytester)
    machine = doc["machine_info"]["triptych"]
    for key in ("cpu_model", "kernel", "cpu_governor", "host_virtualization", "tool_fio"):
        assert machine[key], key
    assert machine["tool_fio"].startswith("fio-")
    families: dict[str, set[str]] = {}
    for bench in doc["benchmarks"]:
        info = bench["extra_info"]
        assert info["platform"] == "host"
        assert len({r["number"] for r in info["measured"]}) == info["rounds"]
        assert bench["stats"]["rounds"] == info["rounds"]
        for s in (s for r in info["measured"] for s in r["samples"]):
            assert s["value"] > 0 or s["metric"] == "tcp retransmits"
            families.setdefault(info["family"], set()).add(s["metric"])
    assert set(families) == {"cpu", "memory", "disk", "network"}
    assert {"memory read bandwidth", "memory random access time"} <= families["memory"]
    assert {"tcp throughput", "round-trip time p99"} <= families["network"]
    assert {"randread IOPS", "randread completion latency p99"} <= families["disk"]
    # pytest-benchmark's own tools read what we saved.
    for command in (["list"], ["compare"]):
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "pytest-benchmark"),
                "--storage",
                str(pytester.path / ".benchmarks"),
                *command,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "0001_t" in out or "test_case" in out
    # Nothing of the run is left in the scratch directory.
    assert list((pytester.path / "scratch").iterdir()) == []


def test_parametrization_ids_and_variants(pytester: pytest.Pytester) -> None:
    setup_suite(pytester, ALL_FAMILIES)
    result = pytester.runpytest_subprocess("--collect-only", "-q", "--triptych-scenarios=s.toml")
    result.stdout.fnmatch_lines(
        [
            "test_triptych.py::test_case[[]t/cpu/host[]]",
            "test_triptych.py::test_case[[]t/disk/host/host-fs[]]",
            "test_triptych.py::test_case[[]t/net-lat/host/loopback[]]",
        ]
    )


def test_bad_scenario_is_a_one_line_usage_error(pytester: pytest.Pytester) -> None:
    setup_suite(pytester, ALL_FAMILIES.replace('"sysbench-cpu"', '"sysbench-cpux"'))
    result = pytester.runpytest_subprocess("--triptych-scenarios=s.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: s.toml: case[0].workload: unknown workload 'sysbench-cpux'; did you mean 'sysbench-cpu'?"
        ]
    )
    assert "Traceback" not in result.stderr.str()


def test_unknown_platform_option(pytester: pytest.Pytester) -> None:
    setup_suite(pytester, ALL_FAMILIES)
    result = pytester.runpytest_subprocess(
        "--triptych-scenarios=s.toml", "--triptych-platforms=host,kvm"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --triptych-platforms: unknown platform 'kvm'; *"])


def test_cases_option_runs_only_the_cases_it_names(pytester: pytest.Pytester) -> None:
    setup_suite(pytester, ALL_FAMILIES)
    result = pytester.runpytest_subprocess(
        "--collect-only", "-q", "--triptych-scenarios=s.toml", "--triptych-cases=disk,cpu"
    )
    ids = [line for line in result.stdout.lines if "::test_case[" in line]
    assert ids == [
        "test_triptych.py::test_case[t/cpu/host]",
        "test_triptych.py::test_case[t/disk/host/host-fs]",
    ]


def test_a_run_of_some_cases_says_which_in_its_record(pytester: pytest.Pytester) -> None:
    setup_suite(pytester, ALL_FAMILIES)
    result = pytester.runpytest_subprocess(
        "--benchmark-save=t", "--triptych-scenarios=s.toml", "--triptych-cases=cpu",
        f"--triptych-scratch={pytester.path}/scratch", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    doc = saved_run(pytester)
    assert doc["machine_info"]["triptych"]["selected_cases"] == ["cpu"]
    assert {b["extra_info"]["case"] for b in doc["benchmarks"]} == {"cpu"}


def test_unknown_case_option(pytester: pytest.Pytester) -> None:
    setup_suite(pytester, ALL_FAMILIES)
    result = pytester.runpytest_subprocess(
        "--triptych-scenarios=s.toml", "--triptych-cases=cpu,gpu"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --triptych-cases: no case 'gpu' in the scenarios run; use a comma-separated list of cpu, cpu-stress, *"
        ]
    )


@pytest.mark.fault
def test_failing_tool_fails_its_case_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sysbench that dies the way a broken install does; every other tool is the real one.
    result = run_cpu_cases_with_fake_sysbench(
        pytester,
        monkeypatch,
        "#!/bin/sh\necho 'FATAL: broken sysbench' >&2\nexit 1\n",
        "--benchmark-disable",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*sysbench failed on host with exit code 1: FATAL: broken sysbench*"]
    )


CONTAINERS = """
[scenario]
name = "c"
platforms = ["docker-bridge", "docker-host"]
rounds = 1
duration = 1

[docker]
cpus = 1.5

[[case]]
name = "cpu"
workload = "sysbench-cpu"

[[case]]
name = "disk"
workload = "fio"
params = { rw = "randread", size = "16M" }

[[case]]
name = "net"
workload = "iperf3-tcp"

[[case]]
name = "startup"
workload = "startup"
"""


@pytest.mark.docker
@pytest.mark.slow
def test_container_rows_with_variants(pytester: pytest.Pytester, bench_image: str) -> None:
    setup_suite(pytester, CONTAINERS)
    result = pytester.runpytest_subprocess(
        "--benchmark-save=c",
        "--triptych-scenarios=s.toml",
        "--triptych-require-platforms=all",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=11)
    rows = {
        (b["extra_info"]["platform"], b["extra_info"]["case"], b["extra_info"]["variant"]): b[
            "extra_info"
        ]
        for b in saved_run(pytester)["benchmarks"]
    }
    assert {v for (p, c, v) in rows if c == "net"} == {"bridge-ip", "published", "host-net"}
    assert {v for (p, c, v) in rows if c == "disk"} == {"volume", "overlay"}
    info = rows[("docker-bridge", "cpu", "default")]
    meta = info["platform_metadata"]
    assert meta["image_id"] == bench_image
    assert (meta["network_mode"], meta["limit_cpus"], meta["layer"]) == ("bridge", 1.5, "container")
    assert rows[("docker-host", "startup", "default")]["measured"][0]["samples"][0]["value"] > 0


@pytest.mark.fault
def test_unreadable_output_names_tool_and_case_and_is_kept(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sysbench that exits 0 but prints something no parser can read (a changed format).
    result = run_cpu_cases_with_fake_sysbench(
        pytester,
        monkeypatch,
        "#!/bin/sh\necho 'CPU speed: lots (new format v9)'\n",
        "--benchmark-save=t",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ParseError: cannot read sysbench output: no 'events per second' line "
            "(case t/cpu/host; raw output kept in *.log)*"
        ]
    )
    (log,) = (pytester.path / ".benchmarks" / "journal").glob("*.log")
    assert "CPU speed: lots (new format v9)" in log.read_text()
    assert "t/cpu/host" in log.read_text()
    # The case that worked was saved.
    assert [b["extra_info"]["case"] for b in saved_run(pytester)["benchmarks"]] == ["cpu-stress"]


ADAPTIVE = """
[scenario]
name = "a"
platforms = ["host"]
duration = 1
rounds = 3
max_rounds = 5

[[case]]
name = "loose"
workload = "sysbench-cpu"
target_ci = 0.9  # met at 3 rounds unless the spread exceeds 36%

[[case]]
name = "impossible"
workload = "sysbench-cpu"
target_ci = 0.0000001
"""


def test_adaptive_rounds_stop_when_the_ci_is_tight_and_at_the_bound(
    pytester: pytest.Pytester,
) -> None:
    setup_suite(pytester, ADAPTIVE)
    result = pytester.runpytest_subprocess(
        "--benchmark-save=a",
        "--triptych-scenarios=s.toml",
        "-p",
        "no:cacheprovider",
        f"--triptych-scratch={pytester.path}/scratch",
    )
    result.assert_outcomes(passed=2)
    runs = {b["extra_info"]["case"]: b for b in saved_run(pytester)["benchmarks"]}
    loose, impossible = runs["loose"], runs["impossible"]
    assert loose["extra_info"]["rounds"] == loose["stats"]["rounds"] == 3
    assert loose["extra_info"]["rounds_policy"]["converged"] is True
    assert impossible["extra_info"]["rounds"] == impossible["stats"]["rounds"] == 5
    assert impossible["extra_info"]["rounds_policy"]["converged"] is False
    assert len(impossible["extra_info"]["measured"]) == 5


def test_platforms_are_shuffled_within_each_case(pytester: pytest.Pytester) -> None:
    scenario = ALL_FAMILIES.replace(
        'platforms = ["host"]', 'platforms = ["host", "docker-host", "docker-bridge", "vm"]'
    )
    setup_suite(pytester, scenario)

    def order(*args: str) -> list[str]:
        out = pytester.runpytest_subprocess(
            "--collect-only", "-q", "--triptych-scenarios=s.toml", *args
        )
        return [
            line.split("[", 1)[1].rstrip("]") for line in out.stdout.lines if "::test_case[" in line
        ]

    listed = order("--triptych-order=scenario")
    assert listed[:4] == ["t/cpu/host", "t/cpu/docker-host", "t/cpu/docker-bridge", "t/cpu/vm"]
    shuffled = [order(f"--triptych-seed={seed}") for seed in (1, 2, 3)]
    for s in shuffled:
        assert sorted(s) == sorted(listed)
        # Cases stay together and in scenario order; only the platforms within a case move.
        assert [x.split("/")[1] for x in s] == [x.split("/")[1] for x in listed]
    assert len({tuple(s) for s in shuffled}) > 1
    assert order("--triptych-seed=2") == shuffled[1]


@pytest.mark.fault
def test_unwritable_results_directory_stops_the_run_with_one_line(
    pytester: pytest.Pytester,
) -> None:
    setup_suite(pytester, ALL_FAMILIES)
    blocker = pytester.path / "results-is-a-file"
    blocker.write_text("")
    result = pytester.runpytest_subprocess(
        "--triptych-scenarios=s.toml",
        f"--triptych-journal={blocker}/journal",
        "-k",
        "cpu",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [
            f"*{blocker}/journal/*.jsonl: cannot write the run journal (Not a directory); make the "
            "results directory writable or pass --triptych-journal DIR*"
        ]
    )
    assert "Traceback" not in result.stdout.str()


PASSES = """
[scenario]
name = "p"
platforms = ["host"]
passes = 2
rounds = 3
duration = 1

[[case]]
name = "cpu"
workload = "sysbench-cpu"

[[case]]
name = "cpu-stress"
workload = "stress-ng-cpu"
"""


def test_rounds_are_spread_over_passes_over_all_the_cases(pytester: pytest.Pytester) -> None:
    setup_suite(pytester, PASSES)
    result = pytester.runpytest_subprocess(
        "--benchmark-save=p",
        "--triptych-scenarios=s.toml",
        "-p",
        "no:cacheprovider",
        "-v",
        f"--triptych-scratch={pytester.path}/scratch",
    )
    result.assert_outcomes(passed=4)
    # Pass by pass over all the cases: cpu and cpu-stress in pass 1, then both again.
    ran = re.findall(r"test_case\[(p/[^\]]+)\] PASSED", result.stdout.str())
    assert ran == [
        "p/cpu/host/pass1",
        "p/cpu-stress/host/pass1",
        "p/cpu/host/pass2",
        "p/cpu-stress/host/pass2",
    ]
    records = [b["extra_info"] for b in saved_run(pytester)["benchmarks"]]
    cpu = sorted((r for r in records if r["case"] == "cpu"), key=lambda r: r["pass_index"])
    assert [(r["pass_index"], r["passes"], r["rounds"]) for r in cpu] == [(0, 2, 2), (1, 2, 1)]
    rounds = [(r["number"], r["pass_index"]) for rec in cpu for r in rec["measured"]]
    assert rounds == [(0, 0), (1, 0), (2, 1)]  # numbered across passes
    samples = load_runs([pytester.path / ".benchmarks"]).samples
    assert len(samples[samples.case == "cpu"]) == 3  # one case of 3 rounds in the report
