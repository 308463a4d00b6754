"""The machine a run was taken on: what pyperf records, plus virtualisation and tool versions."""

from __future__ import annotations

import os
import platform
import re
import shutil
from pathlib import Path

import psutil

from triptych.errors import CommandFailed
from triptych.process import run_local
from triptych.sample import MetaValue
from triptych.tools import TOOLS


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return m.group(1).strip() if m else platform.processor() or "unknown"


def governor() -> str:
    return _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or "unavailable"


def virtualization() -> str:
    """What the host itself runs on: 'none' for bare metal, else the hypervisor's name."""
    if shutil.which("systemd-detect-virt"):
        try:
            # Exit code 1 with "none" means bare metal; that is an answer, not a failure.
            out = run_local(["systemd-detect-virt"], 10).stdout.strip()
            if out:
                return out
        except CommandFailed:
            pass
    flags = _read("/proc/cpuinfo") or ""
    return "unknown-hypervisor" if re.search(r"^flags.*\bhypervisor\b", flags, re.M) else "none"


def layer(kind: str) -> str:
    """The virtualisation layer of one kind under this host ("vm" or "container"): 'none', or
    the hypervisor's or container engine's name. A KVM guest running in a container has both."""
    if shutil.which("systemd-detect-virt"):
        try:
            out = run_local(["systemd-detect-virt", f"--{kind}"], 10).stdout.strip()
            if out:
                return out
        except CommandFailed:
            pass
    if kind == "vm":
        flags = _read("/proc/cpuinfo") or ""
        return "unknown-hypervisor" if re.search(r"^flags.*\bhypervisor\b", flags, re.M) else "none"
    docker, podman = CONTAINER_MARKERS
    if Path(docker).exists():
        return "docker"
    return "podman" if Path(podman).exists() else "none"


CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")


def container_markers() -> str:
    """The container marker files present at the root (what a container layer is judged by)."""
    return ", ".join(m for m in CONTAINER_MARKERS if Path(m).exists()) or "none"


def mitigations() -> str:
    """The CPU vulnerabilities the kernel reports as mitigated or not ('Not affected' left out)."""
    found = []
    root = Path("/sys/devices/system/cpu/vulnerabilities")
    for f in sorted(root.glob("*")) if root.is_dir() else []:
        state = _read(str(f)) or "unknown"
        if state != "Not affected":
            found.append(f"{f.name}: {state}")
    return "; ".join(found) or "none reported"


def transparent_hugepages() -> str:
    """The THP mode in force (the bracketed choice of /sys/kernel/mm/transparent_hugepage)."""
    text = _read("/sys/kernel/mm/transparent_hugepage/enabled") or ""
    m = re.search(r"\[(\w+)\]", text)
    return m.group(1) if m else "unavailable"


def tool_version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "missing"
    try:
        r = run_local(argv, 10)
    except CommandFailed:
        return "unknown"
    return version_line(r.stdout, r.stderr)


def version_line(stdout: str, stderr: str) -> str:
    """A tool's version: the first line it printed, without the kernel it happens to run on
    (stress-ng names it: "(gcc 12.2.0, x86_64 Linux 6.1.0-50-amd64)"), which is not the build."""
    lines = (stdout or stderr).strip().splitlines()
    return RUNNING_KERNEL.sub("", lines[0].strip()) if lines else "unknown"


RUNNING_KERNEL = re.compile(r" Linux [0-9][^ ,)]*")


def collect() -> dict[str, MetaValue]:
    """Everything a reader needs to judge whether two runs compare."""
    mem = psutil.virtual_memory()
    info: dict[str, MetaValue] = {
        "cpu_model": cpu_model(),
        "cpu_count_logical": os.cpu_count() or 0,
        "cpu_count_physical": psutil.cpu_count(logical=False) or 0,
        "memory_total_bytes": mem.total,
        "kernel": platform.release(),
        "cpu_governor": governor(),
        # The innermost layer, as earlier runs recorded it (kept so they stay comparable); the
        # two layers apart below.
        "host_virtualization": virtualization(),
        "virt_vm": layer("vm"),
        "virt_container": layer("container"),
        "container_markers": container_markers(),
        "cpu_mitigations": mitigations(),
        "transparent_hugepages": transparent_hugepages(),
        "aslr": _read("/proc/sys/kernel/randomize_va_space") or "unknown",
        "smt": _read("/sys/devices/system/cpu/smt/active") or "unknown",
    }
    for tool in TOOLS.values():  # every tool, the load generators on the host too
        info[f"tool_{tool.name}"] = tool_version(list(tool.version))
    return info
