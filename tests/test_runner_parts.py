"""The runner's parts on their own: the CI rule of adaptive rounds, the platform pool, the
variants each platform runs through, and startup's samples."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from triptych.errors import PlatformUnavailable
from triptych.platforms.base import ColdStart, PlatformSettings
from triptych.platforms.catalog import KINDS
from triptych.platforms.host import HostPlatform
from triptych.platforms.settings import EngineSettings, VmSettings
from triptych.pool import PlatformPool
from triptych.stopping import ci_halfwidth
from triptych.workloads.startup import startup_samples


def test_ci_halfwidth_on_logs_against_the_t_table() -> None:
    # logs 0, 0.6931, 1.0986: sd 0.5555, n 3; t(0.975, 2) = 4.303 (table)
    # -> exp(4.303 * 0.5555 / sqrt(3)) - 1 = exp(1.3800) - 1 = 2.975
    assert ci_halfwidth([1.0, 2.0, 3.0]) == pytest.approx(2.975, abs=2e-3)
    # logs 2.1972, 2.3979 twice each: sd 0.1159, n 4; t(0.975, 3) = 3.182
    # -> exp(3.182 * 0.1159 / 2) - 1 = exp(0.1844) - 1 = 0.2025
    assert ci_halfwidth([9.0, 11.0, 9.0, 11.0]) == pytest.approx(0.2025, abs=2e-4)
    assert ci_halfwidth([5.0, 5.0, 5.0]) == 0.0
    assert math.isinf(ci_halfwidth([5.0]))
    assert math.isinf(ci_halfwidth([-1.0, 1.0]))  # no log of a value <= 0


def test_variants_per_platform_and_target() -> None:
    assert KINDS["host"].variants("network") == ("loopback",)
    assert KINDS["docker-bridge"].variants("network") == ("bridge-ip", "published")
    assert KINDS["docker-host"].variants("disk") == ("volume", "overlay")
    assert KINDS["vm"].variants("disk") == ("virtio-disk",)
    assert KINDS["vm"].variants("compute") == ("default",)
    assert KINDS["host"].variants("lifecycle") == ()  # the host has no startup of its own
    assert KINDS["docker-host"].variants("lifecycle") == ("default",)
    assert KINDS["docker-bridge"].primary("bridge-ip")
    assert not KINDS["docker-bridge"].primary("published")
    assert not KINDS["docker-host"].primary("overlay")


def test_pool_starts_once_restarts_the_dead_and_stops_all(tmp_path: Path) -> None:
    pool = PlatformPool(PlatformSettings("pooltest", tmp_path, ()))
    first = pool.get("host", EngineSettings())
    assert isinstance(first, HostPlatform)
    assert pool.get("host", EngineSettings()) is first  # started once
    scratch = Path(first.scratch("host-fs").path)
    assert scratch.is_dir()
    first.release()  # its scratch gone: the next case must not use it

    def dead() -> None:
        raise PlatformUnavailable("its scratch directory is gone")

    first.check_alive = dead  # type: ignore[method-assign]  # the planted death
    with pytest.warns(UserWarning, match="platform host died during the run; starting it again"):
        second = pool.get("host", EngineSettings())
    assert second is not first
    assert Path(second.scratch("host-fs").path).is_dir()
    pool.close()
    assert list(tmp_path.iterdir()) == []  # every platform stopped


def test_pool_remembers_a_platform_that_cannot_start(tmp_path: Path) -> None:
    pool = PlatformPool(PlatformSettings("pooltest", tmp_path, ()))
    missing = EngineSettings(vm=VmSettings(acceleration="kvm", kernel="/nonexistent"))
    with pytest.raises(PlatformUnavailable) as first:
        pool.get("vm", missing)
    with pytest.raises(PlatformUnavailable) as again:
        pool.get("vm", missing)
    assert again.value is first.value  # not tried twice
    pool.close()


def test_startup_samples_from_a_cold_start() -> None:
    time, memory = startup_samples(ColdStart(0.75, 3 * 2**20, "cgroup memory usage"))
    assert (time.metric, time.value, time.unit, time.higher_is_better) == (
        "startup time to first exec",
        0.75,
        "s",
        False,
    )
    assert (memory.metric, memory.value, memory.unit) == ("memory footprint at idle", 3.0, "MiB")
    assert memory.metadata["measured"] == "cgroup memory usage"
