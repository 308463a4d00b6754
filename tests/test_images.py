"""Image building: the content key, the apt mirror, and a build that fails half-way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from triptych.errors import TriptychError
from triptych.images import PACKAGES, RootfsRecipe, apt_mirror, build_rootfs


def test_key_follows_the_contents_and_nothing_else() -> None:
    key = RootfsRecipe().key
    # The same recipe in another process (another hash seed) names the same cache entry...
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "from triptych.images import RootfsRecipe; print(RootfsRecipe().key)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout.strip()
    assert other == key
    # ...the order packages are listed in does not matter, what is in them does.
    assert RootfsRecipe(packages=tuple(reversed(PACKAGES))).key == key
    assert RootfsRecipe(packages=(*PACKAGES, "htop")).key != key
    assert RootfsRecipe(release="trixie").key != key
    assert re.fullmatch(r"triptych/bench:[0-9a-f]{12}", RootfsRecipe().image_tag)
    assert RootfsRecipe().image_tag.endswith(key)


def test_mirror_from_deb822_and_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n"
    )
    assert apt_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://other.example/debian bookworm main\n"
    )
    assert apt_mirror(tmp_path) == "http://other.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TriptychError, match=r"no Debian bookworm mirror in .*add one"):
        apt_mirror(tmp_path)


@pytest.mark.fault
@pytest.mark.slow
def test_failed_build_leaves_no_half_built_rootfs(tmp_path: Path) -> None:
    # A package that does not exist: debootstrap fails after fetching the indexes, for real.
    recipe = RootfsRecipe(packages=("sysbench", "no-such-package-triptych"))
    with pytest.raises(TriptychError, match=r"debootstrap failed with exit code \d+: .*\(log: "):
        build_rootfs(recipe, tmp_path, progress=lambda _line: None)
    assert not (tmp_path / f"rootfs-{recipe.key}").exists()
    assert list(tmp_path.glob("*.partial-*")) == []  # nothing a later build could mistake
    assert list(tmp_path.glob("debootstrap-*.log"))  # but the reason is kept
