"""The attacks a local user of a shared runner could try, tried as a second, unprivileged user
made for the test: the scratch directory, the lock, the sweep and `triptych clean`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.intruder import intruder
from triptych import machine_lock
from triptych.errors import PlatformUnavailable, TriptychError
from triptych.images import RootfsRecipe, build_rootfs
from triptych.platforms.host import HostPlatform
from triptych.platforms.host_sweep import OWNER_ENV, SESSION_ENV, sweep_host
from triptych.private_path import UnsafePath, private_dir
from triptych.results.digest_cache import CACHE_VERSION
from triptych.results.load import load_runs
from triptych.service_user import SERVICE_UID
from triptych.session import new_session_id

CLI = [sys.executable, "-m", "triptych.cli"]


@pytest.fixture
def root_dir() -> Iterator[Path]:
    """A directory like /run: root's, traversable by everyone on a path everyone can reach
    (pytest's tmp_path is under root's private directory), removed after."""
    made = Path(tempfile.mkdtemp(prefix="triptych-test-", dir="/run"))
    made.chmod(0o755)
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def test_a_scratch_root_made_first_by_another_user_is_refused(root_dir: Path) -> None:
    public = root_dir / "public"
    public.mkdir(mode=0o1777)
    public.chmod(0o1777)  # like /var/tmp
    with intruder() as bad:
        planted = public / "triptych"
        made = bad.run("mkdir", "-m", "0777", str(planted))
        assert made.returncode == 0, made.stderr
        host = HostPlatform(new_session_id(), planted)
        with pytest.raises(PlatformUnavailable) as e, host:
            pass
        message = str(e.value)
        assert "\n" not in message
        assert f"{planted}: the host scratch root is owned by uid {bad.uid}, not by root" in message
        assert not list(planted.iterdir())  # root wrote nothing through it


def test_a_scratch_root_that_is_a_link_or_open_to_writes_is_refused(root_dir: Path) -> None:
    target = root_dir / "elsewhere"
    target.mkdir()
    link = root_dir / "scratch"
    link.symlink_to(target)
    with pytest.raises(UnsafePath, match=r"scratch: the scratch is a symbolic link; remove it"):
        private_dir(link, "the scratch", 0o711)
    loose = root_dir / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    with pytest.raises(UnsafePath, match=r"is writable by other users \(mode 0777\)"):
        private_dir(loose, "the scratch", 0o711)
    fresh = private_dir(root_dir / "a" / "b", "the scratch", 0o711)
    assert fresh.stat().st_mode & 0o7777 == 0o711
    assert (root_dir / "a").stat().st_mode & 0o7777 == 0o755


def test_the_service_directory_is_the_service_users_by_ownership(root_dir: Path) -> None:
    with HostPlatform(new_session_id(), root_dir / "scratch") as host:
        base = f"{host.scratch('host-fs').path}/services"
        host.service_dir(base)
        st = os.lstat(base)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (SERVICE_UID, SERVICE_UID, 0o700)
        for d in (root_dir / "scratch", Path(host.scratch("host-fs").path)):
            assert d.stat().st_mode & 0o022 == 0, d  # no directory writable by others


def _lock_in(directory: Path) -> Path:
    return directory / "triptych.lock"


def test_another_user_cannot_open_hold_or_plant_the_lock(root_dir: Path) -> None:
    path = _lock_in(root_dir)
    fd = machine_lock.acquire(new_session_id(), wait=False, path=path)
    machine_lock.release(fd, path)
    assert path.stat().st_mode & 0o777 == 0o600
    with intruder() as bad:
        # `flock FILE sleep infinity` needs a descriptor: the file is root's, mode 0600.
        held = bad.run("flock", "-n", str(path), "true")
        assert held.returncode != 0
        assert "Permission denied" in held.stderr
        # A lock file made by someone else is refused, never used.
        path.unlink()
        subprocess.run(
            ["install", "-m", "0644", "-o", str(bad.uid), "/dev/null", str(path)], check=True
        )
        with pytest.raises(TriptychError, match=r"not a regular file of root's"):
            machine_lock.acquire(new_session_id(), wait=False, path=path)


def test_a_lock_in_a_directory_others_can_write_is_refused(root_dir: Path) -> None:
    public = root_dir / "lock"
    public.mkdir()
    public.chmod(0o1777)  # /run/lock, where the lock used to be
    with pytest.raises(TriptychError) as e:
        machine_lock.acquire(new_session_id(), wait=False, path=_lock_in(public))
    assert "is writable by other users" in str(e.value)
    assert "TRIPTYCH_LOCK" in str(e.value)


def test_a_lock_deleted_while_held_is_said(root_dir: Path) -> None:
    path = _lock_in(root_dir)
    fd = machine_lock.acquire(new_session_id(), wait=False, path=path)
    path.unlink()
    said = machine_lock.release(fd, path)
    assert "was deleted or replaced while this run held it" in said
    fd = machine_lock.acquire(new_session_id(), wait=False, path=path)
    assert machine_lock.release(fd, path) == ""


@pytest.mark.parametrize(
    "record",
    [
        b'{"session": "20261201000000-abcdef", "pid": 1, "since": 1e300}',
        b'{"session": "20261201000000-abcdef", "pid": 1, "since": NaN}',
        b'{"session": "../../etc", "pid": 1, "since": 1}',
        b'{"session": "20261201000000-abcdef", "pid": true, "since": 1}',
        b"[" * 100000,
        b"\xff\xfe",
        b"[1, 2]",
    ],
)
def test_a_damaged_holder_record_reads_as_an_unnamed_run(root_dir: Path, record: bytes) -> None:
    path = _lock_in(root_dir)
    path.write_bytes(record)
    path.chmod(0o600)
    assert machine_lock.holder(path) == "a run that has not said who it is"


def test_a_good_holder_record_is_named(root_dir: Path) -> None:
    path = _lock_in(root_dir)
    session = new_session_id()
    record = {"session": session, "pid": 4242, "since": time.time()}
    path.write_text(json.dumps(record))
    assert machine_lock.holder(path).startswith(f"session {session}, pid 4242, since ")


@pytest.mark.parametrize("value", ["", "relative/lock", "/run/"])
def test_a_bad_lock_path_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TRIPTYCH_LOCK", value)
    with pytest.raises(TriptychError, match=r"TRIPTYCH_LOCK=.* is not an absolute file path"):
        machine_lock.lock_path()


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *argv], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def test_clean_refuses_an_empty_or_odd_session() -> None:
    for session in ("", "../x", "20261201"):
        r = _cli("clean", "--session", session)
        assert r.returncode == 2
        (line,) = r.stderr.strip().splitlines()
        assert "is not a session id" in line


def test_clean_refuses_while_a_run_holds_the_lock(root_dir: Path) -> None:
    path = _lock_in(root_dir)
    session = new_session_id()
    fd = machine_lock.acquire(session, wait=False, path=path)
    try:
        env = {**os.environ, "TRIPTYCH_LOCK": str(path)}
        r = _cli("clean", "--scratch", str(root_dir / "none"), env=env)
        assert r.returncode == 2
        (line,) = r.stderr.strip().splitlines()
        assert f"refusing to clean while a run measures on this machine (session {session}" in line
    finally:
        machine_lock.release(fd, path)


def test_a_mark_copied_into_another_users_process_never_gets_it_killed(
    tmp_path: Path,
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    # A mark that names a dead owner, as a sweep would kill it: host, boot, the dead pid.
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    mark = f"{socket.gethostname()}:{boot}:{dead.pid}:1"
    with intruder() as bad:
        proc = subprocess.Popen(
            [
                "setpriv", f"--reuid={bad.uid}", f"--regid={bad.gid}", "--clear-groups", "--",
                "sleep", "600",
            ],
            env={"PATH": "/usr/bin:/bin", OWNER_ENV: mark, SESSION_ENV: new_session_id()},
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait_for_env(proc.pid)
            assert sweep_host(tmp_path) == []
            assert proc.poll() is None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for_env(pid: int) -> None:
    """Until the exec'd process shows its environment (setpriv has handed over)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            p = psutil.Process(pid)
            if p.name() == "sleep" and OWNER_ENV in p.environ():
                return
        time.sleep(0.05)
    raise AssertionError("the marked process never started")


def test_two_image_builds_never_delete_each_others_partial_work(root_dir: Path) -> None:
    """A builder that holds the key's lock keeps its partial tree; a second build of the same
    key waits, then takes the finished one (the old code deleted every partial on start)."""
    cache = root_dir / "cache"
    cache.mkdir()
    recipe = RootfsRecipe()
    partial = cache / f"rootfs-{recipe.key}.partial-1"
    child = (
        "import sys, time; from pathlib import Path; from triptych.images import build_lock\n"
        "cache, key, partial = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])\n"
        "with build_lock(cache, key):\n"
        "    partial.mkdir(); print('building', flush=True); time.sleep(2)\n"
        "    partial.rename(cache / f'rootfs-{key}')\n"
    )
    first = subprocess.Popen(
        [sys.executable, "-c", child, str(cache), recipe.key, str(partial)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert first.stdout is not None
    assert first.stdout.readline().strip() == "building"
    built = build_rootfs(recipe, cache, progress=lambda line: None)
    assert first.wait(timeout=30) == 0, "the first build lost its partial tree"
    first.stdout.close()
    assert built == cache / f"rootfs-{recipe.key}"
    assert built.is_dir()


def test_a_planted_image_cache_is_refused(root_dir: Path) -> None:
    cache = root_dir / "cache"
    with intruder() as bad:
        cache.mkdir()
        os.chown(cache, bad.uid, bad.gid)
        with pytest.raises(UnsafePath, match=rf"the image cache is owned by uid {bad.uid}"):
            build_rootfs(RootfsRecipe(), cache, progress=lambda line: None)


def test_the_report_never_writes_through_a_cache_another_user_planted(root_dir: Path) -> None:
    """A directory of runs may be shared (an artifact, a scratch share): the report's cache
    there is used only if it is ours, and never written through a link."""
    shared = root_dir / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    run = shared / "0001_x.json"
    shutil.copy(Path(__file__).parent / "data" / "run-quick-all-platforms.json", run)
    victim = root_dir / "victim"
    victim.write_text("root's own file\n")
    st = run.stat()
    with intruder() as bad:
        cache = shared / ".triptych-cache"
        assert bad.run("mkdir", str(cache)).returncode == 0
        stem = f"{run.name}.{st.st_size}.{st.st_mtime_ns}"
        # Links where the cache file and (as the old code named it) its temporary file go.
        planted = sorted([f"{stem}.v{CACHE_VERSION}", f"{stem}.tmp"])
        for name in planted:
            assert bad.run("ln", "-s", str(victim), str(cache / name)).returncode == 0
        runs = load_runs([shared])
        assert set(runs.samples.run) == {"0001_x"}
        assert victim.read_text() == "root's own file\n"
        assert sorted(p.name for p in cache.iterdir()) == planted  # nothing of root's added


def test_a_report_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    """`triptych report -o` into a shared directory, as root: links planted at the name the
    report was once written through (OUT.tmp) and at the outputs themselves are never followed;
    the file they point at keeps its bytes, and the outputs are the report, whole. The console
    command leaves without the interpreter's teardown: its line still reaches a pipe."""
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "run-host-cpu.json", runs)
    shared = tmp_path / "shared"
    shared.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out, data = shared / "r.html", shared / "r.json"
    for name in ("r.html.tmp", "r.json.tmp", "r.html", "r.json"):
        (shared / name).symlink_to(victim)
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    r = _cli("report", str(runs), "-o", str(out), "--json", str(data), env=buffered)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"triptych: wrote {out} and {data}\n"
    assert victim.read_text() == "precious\n"
    assert not out.is_symlink()
    assert out.read_text().rstrip().endswith("</html>")
    assert not data.is_symlink()
    assert json.loads(data.read_text())["groups"]
    assert sorted(p.name for p in shared.iterdir()) == [
        "r.html",
        "r.html.tmp",
        "r.json",
        "r.json.tmp",
    ]
    assert (shared / "r.html.tmp").is_symlink()
