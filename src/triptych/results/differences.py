"""What differs between two runs of one machine, in words: the commit, the machine's facts and
tool versions, and the platforms' engine, QEMU, libvirt, guest and image versions (what a
regression's first bad night is read against)."""

from __future__ import annotations

from triptych.results.load import Runs

# Platform facts that, when they differ between two nights, are named as what changed.
VERSIONS = (
    "engine_version", "qemu_version", "libvirt_version", "guest_kernel_release", "image_id",
    "storage_driver", "cgroup_version",
)  # fmt: skip


def what_changed(runs: Runs, good: str, bad: str) -> list[str]:
    """What differs between two nights: the commit, the machine's facts and tool versions,
    and the platforms' engine, QEMU, libvirt and guest versions."""
    if good not in runs.machines or bad not in runs.machines:
        return []
    out = []
    commits = runs.samples.drop_duplicates("run").set_index("run").commit.astype(str)
    if commits.get(good, "") != commits.get(bad, ""):
        out.append(f"commit {_short(commits.get(good, ''))} -> {_short(commits.get(bad, ''))}")
    g, b = (_facts(runs.machines[r]) for r in (good, bad))
    out += [f"{k} {g.get(k, '-')} -> {b.get(k, '-')}" for k in sorted(set(g) | set(b))
            if g.get(k) != b.get(k)]  # fmt: skip
    pg, pb = (_platform_facts(runs.platforms.get(r, {})) for r in (good, bad))
    out += [f"{k} {pg.get(k, '-')} -> {pb.get(k, '-')}" for k in sorted(set(pg) | set(pb))
            if pg.get(k) != pb.get(k)]  # fmt: skip
    return out


def _short(commit: str) -> str:
    return commit[:12] or "none"


def _facts(machine: dict[str, object]) -> dict[str, str]:
    t = machine.get("triptych", {})
    t = t if isinstance(t, dict) else {}
    keep = ("kernel", "cpu_governor", "smt", "aslr")
    return {str(k): str(v) for k, v in t.items() if k in keep or str(k).startswith("tool_")}


def _platform_facts(platforms: dict[str, dict[str, object]]) -> dict[str, str]:
    return {
        f"{label} {k}": str(meta[k])
        for label, meta in platforms.items()
        for k in VERSIONS
        if k in meta
    }
