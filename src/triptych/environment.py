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

TOOLS = {  # tool -> argv that prints its version on the first line
    "sysbench": ["sysbench", "--version"],
    "stress-ng": ["stress-ng", "--version"],
    "fio": ["fio", "--version"],
    "iperf3": ["iperf3", "--version"],
    "sockperf": ["sockperf", "--version"],
}


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


def tool_version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "missing"
    try:
        r = run_local(argv, 10)
    except CommandFailed:
        return "unknown"
    lines = (r.stdout or r.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


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
        "host_virtualization": virtualization(),
        "aslr": _read("/proc/sys/kernel/randomize_va_space") or "unknown",
        "smt": _read("/sys/devices/system/cpu/smt/active") or "unknown",
    }
    for tool, argv in TOOLS.items():
        info[f"tool_{tool}"] = tool_version(argv)
    return info
