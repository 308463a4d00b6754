"""The neighbour's aggressors: the command run on the second instance (stress-ng's cpu or stream
stressor, fio writing, an iperf3 flood), the flood's host client where it crosses the platform's
own network path, and how the neighbour is seen busy or found to have ended early.

`network` floods the neighbour's own loopback: server and client inside it, traffic that never
leaves it, loading its kernel's network stack on its CPUs. `network-path` floods the platform's
own path instead: the server inside the neighbour, the client on the host sending to the
neighbour's address (a container's on the bridge, a guest's through its virtio device and
QEMU's network backend; loopback on the host and a host-network container), so the bridge, the
host's softirq work and the VMM's I/O are what the victim shares.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import psutil

from triptych.errors import TriptychError
from triptych.platforms.host_sweep import marked_env
from triptych.platforms.instance import taskset_argv, with_descendants
from triptych.process import CLEAN_ENV, CommandResult, LocalProcess, with_kill_timeout
from triptych.service_user import as_service_user

PATH_FLOOD = "network-path"
AGGRESSORS = ("cpu", "stream", "disk", "network", PATH_FLOOD)
BUSY_WAIT = 60.0  # seconds the neighbour may take to get busy (a program's start under TCG)
# Cores the neighbour's processes (and a path flood's host client) must use per aggressor CPU
# before the victim starts (a writer waits on the disk: any work shows it started).
BUSY = {"cpu": 0.5, "stream": 0.5, "disk": 0.05, "network": 0.5, PATH_FLOOD: 0.5}
PIDFILE = "triptych-neighbour.pid"
# A fixed script: the aggressor's argv are positional parameters, never text; its pid file lets
# `pkill -F` stop exactly it.
PID_WRAPPER = ("sh", "-c", 'echo $$ > "$0"; exec "$@"')
FLOOD_PORT = 15299  # the flood's server, on the neighbour
# The network aggressor: an iperf3 server on the neighbour's loopback and a client flooding it
# from the same instance (traffic never leaves it). The server is the process the pid file
# names (exec: the wrapper's pid); the client retries until the server answers and gives up
# once it is gone, so stopping the server stops both. The client holds none of the command's
# output: its reader sees the end (and reaps the server) as soon as the server ends.
FLOOD = (
    'me=$$; (while kill -0 "$me"; do iperf3 -c 127.0.0.1 -p "$1" -t "$2" -P "$3" && exit 0; '
    'sleep 0.2; done) >/dev/null 2>&1 </dev/null & exec iperf3 -s -1 -B 127.0.0.1 -p "$1"'
)
# The path flood's client on the host: retries until the neighbour's server answers (a guest's
# program can take seconds to start); stopped with its process group, and bounded by `timeout`
# should this process die first (its marks let the next run's sweep find it, too). Stopped, the
# shell waits for its iperf3 before it ends, so none is left for init to reap.
PATH_CLIENT = (
    'trap \'kill "$c" 2>/dev/null; wait "$c"; exit 0\' TERM; '
    'while :; do iperf3 -c "$1" -p "$2" -t "$3" -P "$4" & c=$!; wait "$c" && exit 0; sleep 0.2; '
    "done"
)


def aggressor_argv(kind: str, workers: int, seconds: int, work_dir: str) -> list[str]:
    """The aggressor's command on the neighbour for `seconds`: `workers` stress-ng workers, one
    fio writer, an iperf3 flood of `workers` streams on its own loopback, or the server a path
    flood sends to (one test, then it ends)."""
    if kind == "network":
        return ["sh", "-c", FLOOD, "flood", str(FLOOD_PORT), str(seconds), str(workers)]
    if kind == PATH_FLOOD:
        return ["iperf3", "-s", "-1", "-p", str(FLOOD_PORT)]
    if kind == "disk":
        return [
            "fio",
            "--name=neighbour",
            f"--directory={work_dir}",
            "--rw=write",
            "--bs=1M",
            "--size=256M",
            "--fsync=8",
            "--time_based",
            f"--runtime={seconds}",
            "--unlink=1",
        ]
    return ["stress-ng", f"--{kind}", str(workers), "--timeout", f"{seconds}s", "--quiet"]


def unprivileged(argv: Sequence[str]) -> list[str]:
    """argv as the host's neighbour runs a server: the service user, a clean environment (the
    pid file is still written by root, before the drop: its directory is root's)."""
    return ["env", "-i", *(f"{k}={v}" for k, v in CLEAN_ENV.items()), *as_service_user(argv)]


def path_client_argv(
    address: str, cpus: tuple[int, ...], seconds: int, streams: int, enter: Sequence[str] = ()
) -> list[str]:
    """The path flood's client: on the aggressor's CPUs, as the service user (`enter`: a fixed
    prefix root runs it under first, the host's cgroup join), killed after its bound."""
    flood = ["sh", "-c", PATH_CLIENT, "flood", address, str(FLOOD_PORT), str(seconds), str(streams)]
    bounded = with_kill_timeout(taskset_argv(cpus, flood), seconds + BUSY_WAIT)
    return [*enter, *as_service_user(bounded)]


def path_client(session: str, argv: list[str]) -> LocalProcess:
    """The path flood's client, started on the host with the session's marks."""
    return LocalProcess(argv, "host (the neighbour's flood client)", env=marked_env(session))


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def ended(name: str, outcome: CommandResult | BaseException, when: str) -> BaseException:
    """Why the aggressor's early end spoils the round."""
    if isinstance(outcome, BaseException):
        return outcome
    said = (outcome.stderr or outcome.stdout).strip().splitlines()
    return TriptychError(
        f"neighbour: the aggressor on {name} ended {when} (exit {outcome.returncode}"
        f"{': ' + said[-1][:200] if said else ''})"
    )


def wait_busy(
    name: str,
    pids: Callable[[], list[int]],
    cores: float,
    done: list[CommandResult | BaseException],
) -> None:
    """Return once the aggressor's processes (`pids`) use `cores` (over a quarter second)."""
    deadline = time.monotonic() + BUSY_WAIT
    while time.monotonic() < deadline:
        if done:
            raise ended(name, done[0], "before it got busy")
        before = cpu_seconds(pids())
        time.sleep(0.25)
        if (cpu_seconds(pids()) - before) / 0.25 >= cores:
            return
    raise TriptychError(
        f"neighbour: the aggressor on {name} never used {cores:g} cores within {BUSY_WAIT:g} s"
    )


def client_pids(client: LocalProcess | None) -> list[int]:
    """A path flood client's processes (none without one)."""
    return with_descendants(client.pid) if client is not None else []
