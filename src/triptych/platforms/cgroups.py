"""cgroup limits alone, for the host's isolation row (issue 24): each of two host processes in a
cgroup of its own, with the limits the scenario gives a container (`[docker]` cpus, cpuset,
memory) and nothing else of one (no namespaces, no image, no seccomp), so the report can tell
what cgroups give from what a container or a guest adds.

The host's hierarchy is used as it is: cgroup v2 (one directory, `cpu.max`, `cpuset.cpus`,
`memory.max`; the controllers enabled for the root's children) or v1 (a directory per
controller: `cpu.cfs_quota_us`, `cpuset.cpus` and `cpuset.mems`, `memory.limit_in_bytes`).
Without a limit, a group still has its own share of the CPU, as a container without limits does.

A process joins its group through a fixed script that writes its own pid to each group's
cgroup.procs before it execs the command (argv, never text). A group's name carries its owner
(`triptych-SESSION-PID-TICKS-TAG`; cgroups die with the boot, so pid and start ticks name the
owner): the sweep removes only groups whose owner is provably dead, killing what still runs in
them first (only root can put a process in a group of root's).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from triptych.errors import NotApplicable, TriptychError
from triptych.platforms.instance import cpu_text
from triptych.platforms.settings import DockerSettings
from triptych.session import NAME_PREFIX, boot_id, owner_dead, start_ticks, valid_session
from triptych.validate import size_bytes

ROOT = Path("/sys/fs/cgroup")
V1 = ("cpu", "cpuset", "memory")  # the v1 hierarchies a group needs
PERIOD = 100_000  # microseconds: the CFS period Docker uses for --cpus
# A fixed script: the files to join come first, then "--", then the command, as parameters.
# It fails (125) rather than run the command outside a group it could not join.
JOIN_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
JOIN = ("sh", "-c", JOIN_SCRIPT, "join")
NAME = re.compile(rf"^{NAME_PREFIX}([0-9]{{14}}-[0-9a-f]{{6}})-([0-9]+)-([0-9]+)-([a-z0-9-]+)$")


@dataclass(frozen=True)
class Limits:
    """What a container of the scenario is limited to (None: not limited)."""

    cpus: float | None = None  # CPUs' worth of time per period
    cpuset: str | None = None
    memory: int | None = None  # bytes

    @classmethod
    def of(cls, settings: DockerSettings) -> Limits:
        memory = size_bytes(settings.memory) if settings.memory else None
        return cls(settings.cpus, settings.cpuset, memory)

    def text(self) -> str:
        """As the record says them ("cpus=1 cpuset=none memory=none")."""
        cpus = f"{self.cpus:g}" if self.cpus is not None else "none"
        memory = str(self.memory) if self.memory is not None else "none"
        return f"cpus={cpus} cpuset={self.cpuset or 'none'} memory={memory}"


def layout() -> str:
    """ "v2" (unified) or "v1" (a hierarchy per controller); NotApplicable where neither has
    the cpu, cpuset and memory controllers."""
    controllers = ROOT / "cgroup.controllers"
    if controllers.is_file():
        have = set(controllers.read_text().split())
        if not {"cpu", "cpuset", "memory"} <= have:
            missing = ", ".join(sorted({"cpu", "cpuset", "memory"} - have))
            raise NotApplicable(f"cgroup v2 here lacks the {missing} controller(s)")
        return "v2"
    if all((ROOT / c / "cgroup.procs").is_file() for c in V1):
        return "v1"
    raise NotApplicable(f"no cgroup hierarchy with cpu, cpuset and memory under {ROOT}")


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as e:
        raise TriptychError(f"cgroup: cannot write {value!r} to {path} ({e.strerror})") from None


class Cgroup:
    """One group of ours, in each hierarchy it needs; `join(argv)` runs argv inside it."""

    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs

    @property
    def name(self) -> str:
        return self.dirs[0].name

    def join(self, argv: Sequence[str]) -> list[str]:
        """argv, run so that it starts inside the group."""
        return [*JOIN, *(str(d / "cgroup.procs") for d in self.dirs), "--", *argv]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(p) for p in (d / "cgroup.procs").read_text().split())
        return sorted(found)

    def remove(self) -> bool:
        """Kill what still runs in it, then remove it; False if it stayed."""
        return _remove(self.dirs)


def create(session: str, tag: str, limits: Limits, cpus: tuple[int, ...] = ()) -> Cgroup:
    """A new group with `limits`, confined to `cpus` where given (else the limits' cpuset)."""
    if not valid_session(session) or not re.fullmatch(r"[a-z0-9-]+", tag):
        raise TriptychError(f"cgroup: session {session!r} or tag {tag!r} is not one of ours")
    pid = os.getpid()
    name = f"{NAME_PREFIX}{session}-{pid}-{start_ticks(pid)}-{tag}"
    kind = layout()
    cpuset = cpu_text(cpus) if cpus else limits.cpuset
    if kind == "v2":
        _write(ROOT / "cgroup.subtree_control", "+cpu +cpuset +memory")
        dirs = [ROOT / name]
    else:
        dirs = [ROOT / c / name for c in V1]
    made: list[Path] = []
    try:
        for d in dirs:
            d.mkdir(mode=0o755)  # never one that was there: mkdir fails on what exists
            made.append(d)
        if kind == "v2":
            _limit_v2(dirs[0], limits, cpuset)
        else:
            _limit_v1(dirs, limits, cpuset)
    except BaseException:
        _remove(made)
        raise
    return Cgroup(dirs)


def _limit_v2(d: Path, limits: Limits, cpuset: str | None) -> None:
    if limits.cpus is not None:
        _write(d / "cpu.max", f"{round(limits.cpus * PERIOD)} {PERIOD}")
    if cpuset:
        _write(d / "cpuset.cpus", cpuset)
    if limits.memory is not None:
        _write(d / "memory.max", str(limits.memory))


def _limit_v1(dirs: list[Path], limits: Limits, cpuset: str | None) -> None:
    cpu, cpus, memory = dirs
    if limits.cpus is not None:
        _write(cpu / "cpu.cfs_period_us", str(PERIOD))
        _write(cpu / "cpu.cfs_quota_us", str(round(limits.cpus * PERIOD)))
    # A v1 cpuset starts empty: a task cannot join until both are set.
    parent = cpus.parent
    _write(cpus / "cpuset.cpus", cpuset or (parent / "cpuset.cpus").read_text().strip())
    _write(cpus / "cpuset.mems", (parent / "cpuset.mems").read_text().strip())
    if limits.memory is not None:
        _write(memory / "memory.limit_in_bytes", str(limits.memory))


def _remove(dirs: list[Path]) -> bool:
    """Kill every process in the groups, then remove them (the kernel empties a group a
    moment after its last process exits)."""
    left = list(dirs)
    deadline = time.monotonic() + 5
    while left:
        for d in list(left):
            with contextlib.suppress(OSError, ValueError):
                for pid in (d / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
            try:
                d.rmdir()
                left.remove(d)
            except FileNotFoundError:
                left.remove(d)
            except OSError:
                pass
        if left and time.monotonic() > deadline:
            return False
        if left:
            time.sleep(0.05)
    return True


def sweep_cgroups(session: str | None = None) -> list[str]:
    """Remove the groups of dead owners (of one session, or of any): what a killed run left."""
    try:
        kind = layout()
    except NotApplicable:
        return []
    parents = [ROOT] if kind == "v2" else [ROOT / c for c in V1]
    by_name: dict[str, tuple[re.Match[str], list[Path]]] = {}
    for parent in parents:
        with contextlib.suppress(OSError):
            for d in parent.iterdir():
                m = NAME.match(d.name)
                if m and d.is_dir() and not d.is_symlink() and session in (None, m[1]):
                    by_name.setdefault(d.name, (m, []))[1].append(d)
    removed = []
    for name, (m, dirs) in sorted(by_name.items()):
        mark = f"{socket.gethostname()}:{boot_id()}:{m[2]}:{m[3]}"  # groups die with the boot
        if owner_dead(mark) and _remove(dirs):
            removed.append(f"cgroup {name}")
    return removed
