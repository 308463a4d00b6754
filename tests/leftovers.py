"""Everything of the suite's that can outlive a run, listed, so a test can demand none is new."""

from __future__ import annotations

import contextlib
from pathlib import Path

import libvirt
import psutil

from triptych.errors import PlatformUnavailable
from triptych.platforms import cgroups, docker_conn, libvirt_conn
from triptych.platforms.docker_sweep import MANAGED_LABEL
from triptych.platforms.host_sweep import marked_processes as _marked
from triptych.platforms.libvirt_sweep import SESSIONS_DIR
from triptych.session import DEFAULT_SCRATCH, NAME_PREFIX
from triptych.workloads.registry import SERVER_PORTS

SERVERS = ("iperf3", "sockperf", "redis-server", "nginx", "postgres")


def _docker() -> set[str]:
    try:
        client = docker_conn.connect()
    except PlatformUnavailable:
        return set()
    f: dict[str, str | list[str] | bool] = {"label": [f"{MANAGED_LABEL}=1"]}
    try:
        return (
            {f"container {c.name}" for c in client.containers.list(all=True, filters=f)}
            | {f"volume {v.name}" for v in client.volumes.list(filters=f)}
            | {f"docker network {n.name}" for n in client.networks.list(filters=f)}
        )
    finally:
        client.close()


def _libvirt() -> set[str]:
    try:
        conn = libvirt_conn.connect()
    except PlatformUnavailable:
        return set()
    try:
        return {
            f"domain {d.name()}" for d in conn.listAllDomains(0) if d.name().startswith(NAME_PREFIX)
        } | {
            f"libvirt network {n.name()}"
            for n in conn.listAllNetworks(0)
            if n.name().startswith(NAME_PREFIX)
        }
    except libvirt.libvirtError:
        return set()
    finally:
        conn.close()


def _processes() -> set[str]:
    """Servers on the suite's ports and QEMU processes of the suite's guests."""
    found = {f"process {p.pid} {p.info['name']} (marked)" for p, _ in _marked()}
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["name"] in SERVERS and any(str(port) in cmd for port in SERVER_PORTS):
            found.add(f"process {p.pid} {cmd}")
        if "qemu" in (p.info["name"] or "") and f"guest={NAME_PREFIX}" in cmd:
            found.add(f"process {p.pid} qemu {cmd.split('guest=', 1)[1].split(',')[0]}")
    return found


def _files() -> set[str]:
    found = set()
    for d in (SESSIONS_DIR, Path(DEFAULT_SCRATCH)):
        with contextlib.suppress(OSError):
            found |= {f"path {p}" for p in d.iterdir()}
    return found


def _cgroups() -> set[str]:
    parents = [cgroups.ROOT, *(cgroups.ROOT / c for c in cgroups.V1)]
    found = set()
    for d in parents:
        with contextlib.suppress(OSError):
            found |= {f"cgroup {p}" for p in d.iterdir() if p.name.startswith(NAME_PREFIX)}
    return found


def suite_resources() -> set[str]:
    """Every container, volume, network, domain, process, directory and cgroup of the suite
    now."""
    return _docker() | _libvirt() | _processes() | _files() | _cgroups()
