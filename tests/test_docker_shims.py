"""A sandboxing runtime's failed start leaves no shim (platforms/docker_shims.py): the shim is
recognised from its real command line, and on the real engine gVisor's failed start on the
bridge leaves nothing running."""

from __future__ import annotations

import os
import time

import docker
import psutil
import pytest

from triptych.errors import PlatformUnavailable
from triptych.platforms.docker import DockerBridgePlatform
from triptych.platforms.docker_shims import SHIM, end_shims, is_shim_of
from triptych.platforms.settings import DockerSettings
from triptych.session import new_session_id

# A real shim's command line, as ps showed it on this machine after gVisor's failed start.
ID = "e69bff322eb56a9a5836cc2b079a01400abf34282140552215e0945ed51f6c80"
REAL = [
    "/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", ID,
    "-address", "/var/run/docker/containerd/containerd.sock",
]  # fmt: skip


def test_the_shim_of_exactly_that_container_is_recognised() -> None:
    assert is_shim_of(REAL, ID)
    other = ID[:-1] + "1"
    assert not is_shim_of(REAL, other)
    assert not is_shim_of(REAL, ID[:12])  # a prefix names no container here
    assert not is_shim_of([REAL[0], "-namespace", "k8s.io", *REAL[3:]], ID)
    assert not is_shim_of(["/usr/bin/sleep", *REAL[1:]], ID)
    assert not is_shim_of([REAL[0], "-id", ID], ID)  # no namespace: not Docker's
    assert not is_shim_of([], ID)
    # A value is read as the flag's value, never as a flag: "-id" as the namespace's value.
    assert not is_shim_of([REAL[0], "-namespace", "-id", ID, "moby"], ID)
    assert end_shims(ID[:8]) == 0  # never ends anything by a prefix


def _shims() -> set[int]:
    found = set()
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and os.path.basename(cmd[0]) == SHIM:  # any container's
            found.add(p.pid)
    return found


@pytest.mark.docker
@pytest.mark.fault
def test_a_runtime_that_cannot_start_leaves_no_shim_running(
    bench_image: str, docker_client: docker.DockerClient
) -> None:
    if "runsc" not in docker_client.info().get("Runtimes", {}):
        pytest.skip("gVisor (runsc) is not registered with this dockerd")
    before = _shims()
    platform = DockerBridgePlatform(
        new_session_id(), (15211, 15212), DockerSettings(runtime="runsc")
    )
    why = ""
    try:
        with platform:
            pass  # it started (on a kernel where gVisor's own network stack does)
    except PlatformUnavailable as e:
        why = str(e)
    assert not why or "runtime runsc could not start a container here" in why
    # Before, the failed start left its shim, gofer and sandbox running for good. containerd
    # runs the shim's binary once more to clean up after one that ended (`... delete`, under a
    # second): give that its moment, never the leftover one.
    deadline = time.monotonic() + 10
    while _shims() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _shims() - before == set()
