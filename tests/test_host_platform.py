"""The host platform and local process control, for real."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from triptych.errors import CommandTimeout, TriptychError
from triptych.platforms.base import wait_for_listen
from triptych.platforms.host import HostPlatform
from triptych.process import run_local


def test_run_returns_output_and_code(tmp_path: Path) -> None:
    with HostPlatform("t", tmp_path) as host:
        r = host.execute(["sh", "-c", "echo out; echo err >&2; exit 3"], 10)
        assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
        with pytest.raises(TriptychError, match="sh failed on host with exit code 3: err"):
            r.check("host")


def test_argv_is_never_a_shell_string(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    r = run_local(["echo", f"x; touch {marker}"], 10)
    assert r.stdout == f"x; touch {marker}\n"
    assert not marker.exists()


@pytest.mark.fault
def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"did not finish within 0\.5 s and was killed"):
        run_local(["sh", "-c", 'sleep 60 & echo $! > "$0"; wait', str(pidfile)], 0.5)
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    for _ in range(50):
        if not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie":
            break
        time.sleep(0.1)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"


def test_scratch_dir_is_private_and_removed(tmp_path: Path) -> None:
    with HostPlatform("sess", tmp_path) as host:
        scratch = Path(host.scratch("host-fs").path)
        assert scratch.parent == tmp_path
        assert scratch.name.startswith("triptych-sess-")
        (scratch / "file").write_text("x")
        assert host.metadata()["scratch_fs"] != "unknown"
    assert not scratch.exists()


def test_unknown_variant_is_refused(tmp_path: Path) -> None:
    with HostPlatform("t", tmp_path) as host, pytest.raises(TriptychError, match="use one of"):
        host.scratch("overlay")


class _FailsAfterStarting(HostPlatform):
    """A host platform whose start() fails after it made its scratch directory and a server."""

    def start(self) -> None:
        super().start()
        self.spawn_service(["sleep", "600"])
        raise TriptychError("failed half-way")


@pytest.mark.fault
def test_failed_start_still_stops(tmp_path: Path) -> None:
    platform = _FailsAfterStarting("t", tmp_path)
    with pytest.raises(TriptychError, match="failed half-way"), platform:
        pass
    # Only stop() removes these: the scratch directory start() made, and the server it spawned.
    assert list(tmp_path.iterdir()) == []
    assert not any(
        p.info["cmdline"] == ["sleep", "600"] and p.info["ppid"] == os.getpid()
        for p in psutil.process_iter(["cmdline", "ppid"])
    )


def test_spawned_server_is_stopped(tmp_path: Path) -> None:
    with HostPlatform("t", tmp_path) as host:
        server = host.spawn_service(
            ["python3", "-m", "http.server", "--bind", "127.0.0.1", "15299"]
        )
        try:
            wait_for_listen(host, 15299, 20, server)
            assert server.alive()
        finally:
            server.stop()
        assert not server.alive()


@pytest.mark.fault
def test_wait_for_port_notices_a_dead_server(tmp_path: Path) -> None:
    with HostPlatform("t", tmp_path) as host:
        server = host.spawn_service(["false"])
        with pytest.raises(TriptychError, match="exited before it listened"):
            wait_for_listen(host, 15298, 10, server)


def test_stop_stops_servers_left_running(tmp_path: Path) -> None:
    with HostPlatform("t", tmp_path) as host:
        server = host.spawn_service(["sleep", "60"])
        assert server.alive()
    assert not server.alive()
