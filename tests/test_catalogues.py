"""The catalogues are the one place a tool or a family is declared: every workload's tool and
family is in them, the image and the install script carry every tool's packages, every platform
records its builds (the services' servers included, so the report's "different builds" warning
covers them), and every family has its own single-baseline floor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from triptych.environment import collect
from triptych.families import FAMILIES, order
from triptych.gate.compare import floor_of
from triptych.images import PACKAGES, REQUIRED_TOOLS
from triptych.platforms.host import HostPlatform
from triptych.session import new_session_id
from triptych.tools import HOST, PLATFORM, TOOLS, on_platforms, packages
from triptych.workloads.registry import WORKLOADS

ROOT = Path(__file__).parent.parent


def test_every_workloads_tool_is_declared() -> None:
    undeclared = {w.name: w.tool for w in WORKLOADS.values() if w.tool not in TOOLS}
    # The engine itself: its version is recorded apart.
    assert undeclared == {"startup": "engine", "density": "engine"}


def test_the_image_and_the_install_script_carry_every_tool() -> None:
    assert set(packages(PLATFORM)) <= set(PACKAGES)
    assert {t.executable for t in on_platforms()} <= set(REQUIRED_TOOLS)
    listed = subprocess.run(
        [sys.executable, str(ROOT / "src/triptych/tools.py")],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert listed == packages()
    assert {"redis-tools", "wrk", "postgresql-15", "redis-server"} <= set(listed)


def test_the_machine_and_each_platform_record_every_build(tmp_path: Path) -> None:
    machine = collect()
    for tool in TOOLS:
        assert machine[f"tool_{tool}"] not in ("missing", "unknown"), tool
    assert "7." in str(machine["tool_redis-server"])
    assert "nginx/1." in str(machine["tool_nginx"])
    assert "(PostgreSQL) 15" in str(machine["tool_postgres"])
    with HostPlatform(new_session_id(), tmp_path / "scratch") as host:
        builds = host.tool_versions()
    on_platform = {f"tool_{t.name}" for t in on_platforms()}
    assert set(builds) == on_platform  # load generators run on the host only: not compared
    assert {"tool_redis-server", "tool_nginx", "tool_postgres"} <= set(builds)
    assert not {f"tool_{t.name}" for t in TOOLS.values() if t.where == HOST} & set(builds)
    assert builds["tool_postgres"] == machine["tool_postgres"]


def test_every_workloads_family_is_declared_with_its_own_floor() -> None:
    assert {w.family for w in WORKLOADS.values()} == set(FAMILIES)
    # Services have a floor of their own (there was none: they fell back to the widest group's,
    # so a services slowdown under ~5x could never fail a single-baseline gate).
    assert floor_of("services", "get rate") < floor_of("services", "latency p99")
    assert order({"startup", "services", "cpu", "zeta"}) == ["cpu", "services", "startup", "zeta"]
