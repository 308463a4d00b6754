"""The host itself: bare metal (or whatever the host is), the baseline of every ratio."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self

from triptych.cleanup import report_swept
from triptych.errors import NotApplicable, PlatformUnavailable
from triptych.platforms.addresses import LOOPBACK
from triptych.platforms.base import Endpoint, Platform, PlatformSettings, ScratchDir, check_variant
from triptych.platforms.catalog import CGROUP, HOST
from triptych.platforms.cgroups import Limits, layout
from triptych.platforms.host_sweep import claim_dir, marked_env, sweep_host
from triptych.platforms.settings import EngineSettings
from triptych.private_path import UnsafePath, private_dir
from triptych.process import CLEAN_ENV, CommandResult, LocalProcess, run_local
from triptych.sample import MetaValue
from triptych.service_user import as_service_user


class HostPlatform(Platform):
    """Runs tools directly on the host; servers listen on loopback."""

    name: ClassVar[str] = HOST.name
    enters_groups: ClassVar[bool] = True  # its servers are the host's processes

    def __init__(self, session: str, scratch_root: Path, limits: Limits | None = None) -> None:
        super().__init__(session)
        self._scratch_root = scratch_root
        self._dir: Path | None = None
        self._limits = limits or Limits()  # a container's, for the cgroup-only isolation row

    @classmethod
    def create(cls, settings: PlatformSettings, engines: EngineSettings) -> Self:
        return cls(settings.session, settings.scratch_root, Limits.of(engines.docker))

    def cannot_run(self, target: str, variant: str = "") -> str | None:
        if target == "isolation" and variant == CGROUP:
            try:
                layout()
            except NotApplicable as e:
                return str(e)
        return None

    def cgroup_limits(self) -> Limits:
        return self._limits

    def start(self) -> None:
        # /tmp may be tmpfs, where O_DIRECT fails: the scratch root is a real filesystem. It
        # is root's and writable by nobody else (/var/tmp is world-writable: a user who made
        # it first must not choose what root's fio and chown go through).
        try:
            private_dir(self._scratch_root, "the host scratch root", 0o711)
        except UnsafePath as e:
            raise PlatformUnavailable(f"{e} (or pass --triptych-scratch DIR)") from None
        report_swept(sweep_host(self._scratch_root))
        self._dir = Path(tempfile.mkdtemp(prefix=f"{self.session_prefix}-", dir=self._scratch_root))
        claim_dir(self._dir)
        # Traversable (not listable) by the unprivileged service user, whose servers keep
        # their files in a directory it owns inside.
        self._dir.chmod(0o711)

    def release(self) -> list[str]:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return []

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        return run_local(argv, timeout, where=self.name)

    def execute_as_service(self, argv: Sequence[str], timeout: float) -> CommandResult:
        return run_local(as_service_user(argv), timeout, where=self.name, env=dict(CLEAN_ENV))

    def _spawn(self, argv: Sequence[str]) -> LocalProcess:
        # In a clean environment (the service user's argv comes from spawn_service), marked:
        # the next run finds it if this one is killed before it can stop it.
        return LocalProcess(argv, where=self.name, env=marked_env(self.session))

    def endpoint(self, port: int, variant: str) -> Endpoint:
        check_variant(self, variant, self.network_variants)
        return Endpoint(variant, LOOPBACK, port)

    def listen_host(self) -> str:
        return LOOPBACK

    def scratch(self, variant: str) -> ScratchDir:
        check_variant(self, variant, self.disk_variants)
        return ScratchDir(variant, str(self._started(self._dir)))

    def metadata(self) -> dict[str, MetaValue]:
        return {"platform": self.name, "layer": self.kind.layer, "scratch_fs": _fs_type(self._dir)}


def _fs_type(path: Path | None) -> str:
    """The filesystem type under path, from /proc/self/mounts (longest matching mount)."""
    if path is None:
        return "unknown"
    best, fstype = "", "unknown"
    target = str(path.resolve())
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1]
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, fstype = mount, parts[2]
    return fstype
