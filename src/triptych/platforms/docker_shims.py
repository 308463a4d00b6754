"""What a failed start of a sandboxing runtime leaves behind: its containerd shim.

On this kernel gVisor cannot start a container on Docker's bridge ("cannot run with network
enabled in root network namespace"); the start fails, and removing the container (as the
platform does, `remove(force=True)`) deletes Docker's record of it but leaves its shim
(`containerd-shim-runc-v2 -namespace moby -id ID`) running, with runsc's gofer and sandbox
stuck under it: three processes, after every run that tried. The shim names the container it
served, and that container is ours and removed, so its owner is provably gone: after a failed
start the platform ends the shim of that container id and whatever runs under it, and nothing
else (a shim of another id is not ours to judge).
"""

from __future__ import annotations

import contextlib
import os

import psutil

SHIM = "containerd-shim-runc-v2"
NAMESPACE = "moby"  # dockerd's containerd namespace
GRACE = 10.0  # seconds for the ended processes to go


def is_shim_of(cmdline: list[str], container_id: str) -> bool:
    """Whether a process's command line is Docker's shim of exactly this container."""
    if not cmdline or os.path.basename(cmdline[0]) != SHIM:
        return False
    flags = dict(zip(cmdline[1::2], cmdline[2::2], strict=False))
    return flags.get("-namespace") == NAMESPACE and flags.get("-id") == container_id


def shims_of(container_id: str) -> list[psutil.Process]:
    """The running shims of this container (root's only: Docker's are)."""
    found = []
    for p in psutil.process_iter(["cmdline", "uids"]):
        with contextlib.suppress(psutil.Error):
            uids, cmdline = p.info["uids"], p.info["cmdline"] or []
            if uids is not None and uids.real == 0 and is_shim_of(cmdline, container_id):
                found.append(p)
    return found


def end_shims(container_id: str) -> int:
    """End what a removed container's shim still runs, and the shim: how many processes."""
    if len(container_id) < 12:
        return 0  # never a prefix: only the whole id names one container
    ended: list[psutil.Process] = []
    for shim in shims_of(container_id):
        with contextlib.suppress(psutil.Error):
            ended += [*shim.children(recursive=True), shim]
    for p in ended:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(ended, timeout=GRACE)
    return len(ended)
