"""Each kind of thing is named in its catalogue: a platform's, tool's or family's name written as
a string anywhere else in the library is a second declaration waiting to disagree. This scan
fails on one; the few that are the same word for another thing say what they are."""

from __future__ import annotations

import ast
from pathlib import Path

from triptych.families import FAMILIES
from triptych.platforms.catalog import KINDS
from triptych.tools import TOOLS

SRC = Path(__file__).parent.parent / "src" / "triptych"
# Each kind's names, and where they may be written: its catalogue (and, for tools and families,
# the workloads, each of which declares the tool it runs and the family it belongs to).
KINDS_OF_NAME = {
    "platform": (set(KINDS), {"platforms/catalog.py"}),
    "family": (set(FAMILIES), {"families.py"}),
    "tool": (set(TOOLS), {"tools.py"}),
}
OWN_PACKAGES = {"platform": (), "family": ("workloads/",), "tool": ("workloads/",)}
# The same word meaning something else, or facts of old records that must never change.
OTHER_MEANINGS = {
    ("record.py", "host"): "version 1 records' column order, read only for those records",
    ("record.py", "docker-host"): "the same",
    ("record.py", "docker-bridge"): "the same",
    ("record.py", "vm"): "the same",
    ("record.py", "startup"): "version 1 records' headline metric, the same",
    ("process.py", "host"): "where a command ran, in its error ('on host')",
    ("vm_image.py", "host"): "the same",
    ("tools.py", "host"): "where a tool runs: on the host only (a load generator)",
    ("platforms/docker.py", "host"): "Docker's network mode named host (--net=host)",
    ("platforms/runtimes.py", "host"): "the same network mode, as a runtime is registered for it",
    ("platforms/runtimes.py", "network"): "a workload target (network paths), not the family",
    ("environment.py", "vm"): "systemd-detect-virt's --vm, the kind of layer it detects",
    ("platforms/catalog.py", "disk"): "a workload target (disk backings), not the family",
    ("platforms/catalog.py", "network"): "a workload target (network paths), not the family",
    ("platforms/catalog.py", "isolation"): "a workload target (an isolation case's variants)",
    ("platforms/host.py", "isolation"): "the same target, for the host's cgroup variant",
    ("platforms/cgroups.py", "cpu"): "the kernel's cgroup controller named cpu",
    ("platforms/cgroups.py", "memory"): "the kernel's cgroup controller named memory",
    ("platforms/settings.py", "disk"): "the [vm] setting named disk",
    ("service_user.py", "services"): "the servers' directory under the scratch root",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))
    return found


def _named_literals(root: Path = SRC) -> list[tuple[str, str, str, int]]:
    """(kind, file, name, line) of every string constant that is a catalogued name."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = str(path.relative_to(root))
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if id(node) in docs:
                continue
            for kind, (names, _) in KINDS_OF_NAME.items():
                if node.value in names:
                    out.append((kind, rel, node.value, node.lineno))
    return out


def test_names_are_written_only_in_their_catalogue() -> None:
    stray = [
        f"{rel}:{line}: {kind} name {name!r}"
        for kind, rel, name, line in _named_literals()
        if rel not in KINDS_OF_NAME[kind][1]
        and not rel.startswith(OWN_PACKAGES[kind])
        and (rel, name) not in OTHER_MEANINGS
    ]
    assert stray == []


def test_every_other_meaning_is_still_there() -> None:
    """An entry for a literal that has gone would let a new one through unseen."""
    seen = {(rel, name) for _, rel, name, _ in _named_literals()}
    assert set(OTHER_MEANINGS) - seen == set()


def test_the_scan_finds_a_stray_name_and_not_prose(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        '"""Runs on docker-bridge, or "vm" in prose."""\n'
        "def f() -> str:\n"
        '    """The vm."""\n'
        '    return "vm" if MODE == "docker-bridge" else "fio"\n'
    )
    found = {(kind, name, line) for kind, _, name, line in _named_literals(tmp_path)}
    assert found == {("platform", "vm", 4), ("platform", "docker-bridge", 4), ("tool", "fio", 4)}
