"""Faults caused for real around a run: the case says what happened, finished cases are kept,
the other platforms go on, and nothing of the suite is left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
import libvirt
import psutil
import pytest

from tests.engines import unavailable
from tests.leftovers import suite_resources
from tests.suite_run import run_suite, run_until_case, suite_env
from triptych.platforms.docker_sweep import LABEL
from triptych.results.load import load_runs
from triptych.session import NAME_PREFIX

ROOT = Path(__file__).parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.fault]

SCENARIO = """
[scenario]
name = "f"
platforms = {platforms}
rounds = 1
duration = 1
timeout = 300

[[case]]
name = "first"
workload = "sysbench-cpu"

[[case]]
name = "long"
workload = "sysbench-cpu"
duration = {long}
{long_on}
{after}"""
AFTER = """
[[case]]
name = "after"
workload = "sysbench-cpu"
"""


def scenario(
    *platforms: str, long: int = 120, after: bool = False, long_on: str | None = None
) -> str:
    """Cases first, long and (if after) after on platforms; long on long_on alone if given."""
    return SCENARIO.format(
        platforms=list(platforms),
        long=long,
        long_on=f"platforms = {[long_on]}" if long_on else "",
        after=AFTER if after else "",
    )


def start_run(tmp_path: Path, platform: str) -> tuple[subprocess.Popen[str], Path]:
    return run_until_case(
        tmp_path,
        scenario(platform, after=True),
        "--benchmark-save=f",
        "--triptych-order=scenario",
        wait=300,
        settle=3,
    )


def check_outcome(proc: subprocess.Popen[str], tmp_path: Path, platform: str, message: str) -> None:
    """The case running at the fault fails with message; the next one gets a fresh platform."""
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 1, out[-3000:]
    assert "1 failed, 2 passed" in out, out[-3000:]
    assert re.search(message, out), out[-3000:]
    assert f"platform {platform} died during the run; starting it again" in out, out[-3000:]
    runs = load_runs([tmp_path / ".benchmarks"])
    assert set(runs.samples.case) == {"first", "after"}  # kept, and went on


@pytest.mark.docker
def test_container_killed_mid_case(
    tmp_path: Path, docker_client: docker.DockerClient, bench_image: str
) -> None:
    proc, journal = start_run(tmp_path, "docker-host")
    session = journal.stem
    (container,) = docker_client.containers.list(filters={"label": [f"{LABEL}={session}"]})
    container.kill()  # from outside, mid-case
    check_outcome(proc, tmp_path, "docker-host", "stopped during the run")


@pytest.mark.vm
def test_vm_destroyed_mid_case(tmp_path: Path) -> None:
    proc, journal = start_run(tmp_path, "vm")
    session = journal.stem
    conn = libvirt.open("qemu:///system")
    try:
        conn.lookupByName(f"{NAME_PREFIX}{session}-vm").destroy()  # from outside, mid-case
        check_outcome(proc, tmp_path, "vm", r"guest \S+ (was destroyed|stopped) during the run")
    finally:
        conn.close()


def test_engines_down_the_run_goes_on_with_the_host(tmp_path: Path) -> None:
    """dockerd and libvirtd not running (nothing listens on their sockets): their platforms are
    skipped with one line each, the host's cases run and are kept."""
    dead = tmp_path / "dead"
    dead.mkdir()
    env = {
        "DOCKER_HOST": f"unix://{dead}/docker.sock",
        "LIBVIRT_DEFAULT_URI": f"qemu+unix:///system?socket={dead}/libvirt-sock",
    }
    done = run_suite(
        tmp_path,
        scenario("docker-host", "vm", "host", long=1),
        "--benchmark-save=f",
        env=suite_env(**env),
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:]
    assert "2 passed, 4 skipped" in out, out[-3000:]
    assert f"Docker engine not reachable (nothing listens on {dead}/docker.sock" in out, out
    assert "libvirtd not reachable at qemu+unix" in out, out
    assert out.count("start it with scripts/daemons.sh start") >= 2, out
    runs = load_runs([tmp_path / ".benchmarks"])
    assert set(runs.samples.platform) == {"host"}
    assert set(runs.samples.case) == {"first", "long"}
    # Where the platforms are required, the same run fails, saying why.
    done = run_suite(
        tmp_path,
        scenario("docker-host", "host", long=1),
        "--triptych-require-platforms=docker-host",
        env=suite_env(**env),
    )
    assert done.returncode == 1, done.stdout[-3000:]
    assert "2 passed, 2 errors" in done.stdout, done.stdout[-3000:]
    assert "required platform docker-host is unavailable: Docker engine" in done.stdout
    assert "During handling" not in done.stdout, done.stdout[-3000:]


def our_daemon(name: str, platform: str) -> psutil.Process:
    """The daemon scripts/daemons.sh started here (only that one, by its pid), or a skip: asked
    before a run starts, so a skip never leaves a run behind (holding the machine's lock)."""
    state = Path(os.environ.get("TRIPTYCH_DAEMON_STATE", ROOT / ".run" / "daemons"))
    try:
        proc = psutil.Process(int((state / f"{name}.pid").read_text()))
        if proc.name() != name:
            raise ValueError(proc.name())
    except (OSError, ValueError, psutil.Error) as e:
        unavailable(platform, f"{name} was not started by scripts/daemons.sh here ({e})")
    return proc


@contextmanager
def daemon_stopped(proc: psutil.Process) -> Iterator[None]:
    """Stop the daemon; start it again (with scripts/daemons.sh) afterwards."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
        yield
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "daemons.sh"), "start"], check=True)


def engine_stopped_mid_run(
    tmp_path: Path, daemon: str, platform: str, message: str, unreachable: str, session_left: str
) -> None:
    """The daemon stops in the middle of `long` on platform (long runs there alone): that case
    fails with message, the later one there is skipped (the daemon is not there to start it
    again), the host's go on, finished cases are kept; what the daemon's death left is named,
    and the next run removes it."""
    order = ("--triptych-order=scenario", "--benchmark-save=f")
    engine = our_daemon(daemon, platform)
    proc, journal = run_until_case(
        tmp_path,
        scenario(platform, "host", long=40, after=True, long_on=platform),
        *order,
        case="f/first/host",
        wait=300,
        settle=4,
    )
    session = journal.stem
    with daemon_stopped(engine):
        out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1, out[-3000:]
    assert "1 failed, 3 passed, 1 skipped" in out, out[-3000:]
    assert message in out, out[-4000:]
    assert f"platform {platform} unavailable: {unreachable}" in out, out[-4000:]
    assert "the next run (or `triptych clean`) removes them" in out, out[-4000:]
    runs = load_runs([tmp_path / ".benchmarks"])
    kept = set(zip(runs.samples.case, runs.samples.platform, strict=True))
    assert kept == {("first", platform), ("first", "host"), ("after", "host")}
    assert any(session in r for r in suite_resources()), "the daemon's death left nothing?"
    # The next run, on the same platform, sweeps what the dead run left.
    again = run_suite(tmp_path / "next", scenario(platform, long=1))
    assert again.returncode == 0, again.stdout[-3000:]
    assert "left by runs that died" in again.stdout, again.stdout[-3000:]
    assert session_left.format(session=session) in again.stdout, again.stdout[-3000:]
    assert [r for r in suite_resources() if session in r] == []


@pytest.mark.docker
def test_dockerd_stopped_mid_run(tmp_path: Path, bench_image: str) -> None:
    (tmp_path / "next").mkdir()
    engine_stopped_mid_run(
        tmp_path,
        "dockerd",
        "docker-host",
        "Docker engine went away during the run on docker-host",
        "Docker engine not reachable",
        "container triptych-{session}-docker-host",
    )


@pytest.mark.vm
def test_libvirtd_stopped_mid_run(tmp_path: Path) -> None:
    (tmp_path / "next").mkdir()
    engine_stopped_mid_run(
        tmp_path,
        "libvirtd",
        "vm",
        "libvirtd went away during the run",
        "libvirtd not reachable",
        "network triptych-{session}",
    )


@pytest.fixture
def full_results_fs(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/.benchmarks on its own small filesystem, filled up to its last free page."""
    results = tmp_path / ".benchmarks"
    results.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(results)], check=True)
    try:
        st = os.statvfs(results)
        (results / "filler").write_bytes(b"\0" * ((st.f_bavail - 1) * st.f_frsize))
        yield results
    finally:
        subprocess.run(["umount", str(results)], check=True)


def test_results_disk_fills_up_mid_run(tmp_path: Path, full_results_fs: Path) -> None:
    """The journal takes the first cases, then the disk is full: the case that cannot be kept
    fails in one line, the run stops there, and what was written reads back as partial."""
    cases = "".join(f'\n[[case]]\nname = "c{i}"\nworkload = "sysbench-cpu"\n' for i in range(8))
    head = '[scenario]\nname = "d"\nplatforms = ["host"]\nrounds = 1\nduration = 1\n'
    done = run_suite(tmp_path, head + cases, "--benchmark-save=d", "--triptych-order=scenario")
    out = done.stdout
    assert done.returncode == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert "cannot append to the run journal (No space left on device)" in out, out[-3000:]
    assert "Interrupted: the run journal cannot be written" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert "triptych: cannot save the run in" in out, out[-3000:]
    assert "every finished case is in .benchmarks/journal/" in out, out[-3000:]
    assert list(full_results_fs.glob("*/*.json")) == [], out  # no truncated pytest-benchmark file
    (journal,) = (full_results_fs / "journal").glob("*.jsonl")
    runs = load_runs([journal])
    kept = sorted(set(runs.samples.case))
    assert 1 <= len(kept) < 8, out[-3000:]
    assert kept == [f"c{i}" for i in range(len(kept))]
    assert runs.partial
    # The disk took part of the failing case's record: dropped with a warning, not a crash.
    assert any("half-written" in w for w in runs.warnings), runs.warnings


# In a private mount namespace, /dev without kvm: the machine, as the suite sees it, has no KVM.
HIDE_KVM = (
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    'd=$(mktemp -d) && cp -ax /dev/. "$d" && rm -f "$d/kvm" && mount --bind "$d" /dev && '
    'test ! -e /dev/kvm && exec "$@"',
    "sh",
)
KVM_REQUIRED = """
[scenario]
name = "k"
platforms = ["vm", "host"]
rounds = 1
duration = 1

[vm]
acceleration = "kvm"

[[case]]
name = "cpu"
workload = "sysbench-cpu"
"""


@pytest.mark.vm
def test_dev_kvm_missing(tmp_path: Path) -> None:
    """No /dev/kvm: a scenario that demands KVM has its VM cases skipped with the fix, the host
    goes on; `auto` runs the guest under TCG and every sample says why."""
    (tmp_path / "auto.toml").write_text(
        KVM_REQUIRED.replace('name = "k"', 'name = "a"')
        .replace('"kvm"', '"auto"')
        .replace('["vm", "host"]', '["vm"]')
    )
    done = run_suite(
        tmp_path,
        KVM_REQUIRED,
        "--benchmark-save=k",
        "--triptych-scenarios=s.toml,auto.toml",
        prefix=HIDE_KVM,
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:]
    assert "2 passed, 1 skipped" in out, out[-3000:]
    assert (
        'acceleration kvm requested but /dev/kvm is missing; use acceleration = "auto" or "qemu"'
        in out
    ), out[-3000:]
    runs = load_runs([tmp_path / ".benchmarks"])
    vm = runs.samples[runs.samples.platform == "vm"]
    assert set(vm.scenario) == {"a"}
    assert set(vm.acceleration) == {"tcg"}
    (saved,) = (tmp_path / ".benchmarks").glob("*/*_k.json")
    (case,) = [b for b in json.loads(saved.read_text())["benchmarks"] if "/vm" in b["name"]]
    meta = case["extra_info"]["platform_metadata"]
    assert meta["acceleration_reason"] == "/dev/kvm is missing: using TCG emulation"
    assert set(runs.samples[runs.samples.platform == "host"].scenario) == {"k"}


FAILS_IN_PREPARE = """
[scenario]
name = "p"
platforms = ["host"]
rounds = 1
duration = 1
warmup = 0

[[case]]
name = "web"
workload = "nginx"

[[case]]
name = "cpu"
workload = "sysbench-cpu"
"""


def test_a_case_that_fails_before_its_rounds_is_reported_once(tmp_path: Path) -> None:
    """Its one line, once: not also an ERROR for pytest-benchmark's "fixture was not used"."""
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 18080))
        squatter.listen()
        done = run_suite(tmp_path, FAILS_IN_PREPARE, "--benchmark-save=p")
    out = done.stdout
    assert done.returncode == 1, out[-3000:]
    assert "1 failed, 1 passed in" in out, out[-3000:]
    assert "error" not in out.splitlines()[-1], out[-3000:]
    assert "not used at all" not in out
    assert out.count("port 18080 on host is already in use") == 1, out[-3000:]  # once
    saved = json.loads(next((tmp_path / ".benchmarks").glob("*/*.json")).read_text())
    assert [b["name"] for b in saved["benchmarks"]] == ["test_case[p/cpu/host]"]
