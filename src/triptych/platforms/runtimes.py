"""Every OCI runtime a container platform can run under, declared once: the Debian package that
provides it, the name dockerd knows it by for each network mode, what the machine must have for
it to run at all, and what it cannot do here, each with the reason a skipped case shows.

`[docker] runtimes = ["runc", "runsc"]` runs the container platforms once per runtime, side by
side, each its own column (as `[vm] profiles` does for guests). scripts/daemons.sh registers
the runtimes that are installed with the dockerd it starts (`python3 src/triptych/platforms/
runtimes.py` prints the daemon config); install.sh installs their packages. Adding a runtime is
one entry here.

No import but the standard library: scripts run this file with the system's python3.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

UNIFIED_CGROUP = Path("/sys/fs/cgroup/cgroup.controllers")
CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")


@dataclass(frozen=True)
class Runtime:
    name: str  # as a scenario names it
    package: str  # the Debian package that provides it ("": dockerd's own)
    executable: str  # its path once installed
    # dockerd's name for it in each network mode, and the arguments registered with that name
    # (gVisor brings its own network stack unless told to use the host's or none).
    registered: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # What the machine must have: a check and, when it fails, why the runtime cannot run here.
    needs_unified_cgroups: bool = False
    # Per network mode, the workload targets (compute, disk, network, lifecycle) it cannot
    # run, and why.
    cannot: dict[str, dict[str, str]] = field(default_factory=dict)

    def dockerd_name(self, network_mode: str) -> str:
        return self.registered.get(network_mode, (self.name, ()))[0]

    def cannot_run(self, network_mode: str, target: str) -> str | None:
        """Why a workload of `target` cannot run under it in `network_mode` (None: it can)."""
        return self.cannot.get(network_mode, {}).get(target)

    def unusable_here(self) -> str | None:
        """Why this machine cannot run it at all (None: it can, as far as we know)."""
        if self.package and shutil.which(self.executable) is None:
            return f"{self.executable} is not installed (Debian package {self.package})"
        hybrid = CGROUP_V1_CPU.is_dir() or not UNIFIED_CGROUP.exists()
        if self.needs_unified_cgroups and hybrid:
            return (
                f"{self.name} needs a unified cgroup v2 hierarchy and this machine's cgroups "
                "are hybrid (it refuses: 'cgroups in hybrid mode not supported')"
            )
        return None


RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        Runtime("runc", "", "runc"),
        Runtime(
            "runsc",
            "runsc",
            "/usr/bin/runsc",
            {
                # Its own network stack, the only one that gives a container its own address:
                # on kernels where it starts ("cannot run with network enabled in root network
                # namespace" where it does not, and the platform is skipped with that line).
                "bridge": ("runsc", ()),
                "host": ("runsc-host", ("--network=host",)),
            },
            cannot={
                "host": {
                    "network": "gVisor's host networking (runsc --network=host, Debian's "
                    "2022-12 build) breaks iperf3's control channel: not measured",
                },
            },
        ),
        Runtime("crun", "crun", "/usr/bin/crun", {}, needs_unified_cgroups=True),
    )
}
DEFAULT_RUNTIME = "runc"


def daemon_config() -> dict[str, object]:
    """dockerd's `runtimes` for every installed runtime dockerd does not bring itself."""
    runtimes: dict[str, object] = {}
    for r in RUNTIMES.values():
        if not r.package or shutil.which(r.executable) is None:
            continue
        names = r.registered.values() or [(r.name, ())]
        for name, args in names:
            runtimes[name] = {"path": r.executable, **({"runtimeArgs": list(args)} if args else {})}
    return {"runtimes": runtimes}


if __name__ == "__main__":
    if sys.argv[1:] == ["packages"]:
        print("\n".join(sorted({r.package for r in RUNTIMES.values() if r.package})))
    else:
        print(json.dumps(daemon_config(), indent=2))
