"""The environment record against the machine itself: both virtualisation layers (this machine is
a KVM guest whose root filesystem carries /.dockerenv), CPU mitigations and THP."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.synthetic import noisy, write_run
from triptych import environment
from triptych.report.render import render
from triptych.results.load import load_runs


def _detect(*options: str) -> str:
    argv = ["systemd-detect-virt", *options]
    return subprocess.run(argv, check=False, capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("systemd-detect-virt") is None, reason="no systemd-detect-virt")
def test_both_layers_are_recorded_apart() -> None:
    info = environment.collect()
    assert info["virt_vm"] == _detect("--vm")
    assert info["virt_container"] == _detect("--container")
    markers = [m for m in ("/.dockerenv", "/run/.containerenv") if Path(m).exists()]
    assert info["container_markers"] == (", ".join(markers) or "none")
    # The legacy key keeps the innermost layer, as runs before this one recorded it.
    assert info["host_virtualization"] == _detect()


def test_without_systemd_detect_virt_the_fallbacks_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    cpuinfo = Path("/proc/cpuinfo").read_text()
    hypervisor = any(
        line.startswith("flags") and " hypervisor" in line for line in cpuinfo.splitlines()
    )
    assert environment.layer("vm") == ("unknown-hypervisor" if hypervisor else "none")
    expected = "docker" if Path("/.dockerenv").exists() else None
    if expected:
        assert environment.layer("container") == expected


def test_mitigations_and_transparent_hugepages_as_the_kernel_says() -> None:
    vulns = Path("/sys/devices/system/cpu/vulnerabilities")
    states = {f.name: f.read_text().strip() for f in sorted(vulns.iterdir())}
    recorded = environment.mitigations()
    for name, state in states.items():
        assert (f"{name}: {state}" in recorded) is (state != "Not affected")
    enabled = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text().split()
    (chosen,) = [w.strip("[]") for w in enabled if w.startswith("[")]
    assert environment.transparent_hugepages() == chosen
    assert re.fullmatch(r"\w+", chosen)


def test_a_report_warns_when_platforms_used_different_builds(tmp_path: Path) -> None:
    saved = write_run(tmp_path / "0001_builds.json", ["host", "docker-bridge"], 3, noisy({}))
    doc = json.loads(saved.read_text())
    builds = {"host": "sysbench 1.0.20", "docker-bridge": "sysbench 1.0.21"}
    for b in doc["benchmarks"]:
        meta = b["extra_info"]["platform_metadata"]
        meta["tool_sysbench"] = builds[meta["platform"]]
        meta["tool_fio"] = "fio-3.33"  # the same everywhere: not named
    saved.write_text(json.dumps(doc))
    html = render(load_runs([saved]))
    assert (
        "different builds of a tool (sysbench: docker-bridge &#39;sysbench 1.0.21&#39;, "
        "host &#39;sysbench 1.0.20&#39;)" in html
    )
    assert "fio:" not in html


def test_a_tool_s_build_is_not_the_kernel_it_runs_on() -> None:
    # stress-ng's real first line on the host and in the guest (different kernels, one build).
    host = "stress-ng, version 0.15.06 (gcc 12.2.0, x86_64 Linux 6.18.44-fc-v857)"
    guest = "stress-ng, version 0.15.06 (gcc 12.2.0, x86_64 Linux 6.1.0-50-amd64)"
    assert environment.version_line(host, "") == environment.version_line(guest, "")
    assert environment.version_line(host, "") == "stress-ng, version 0.15.06 (gcc 12.2.0, x86_64)"
    assert environment.version_line("sysbench 1.0.20\n", "") == "sysbench 1.0.20"
