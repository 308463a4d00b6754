"""The VM's disk: the shared root filesystem as a raw ext4 base image (never modified), a
per-session qcow2 overlay on top of it, and the kernel and initrd from the same rootfs."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from triptych.errors import TriptychError
from triptych.images import DEFAULT_CACHE, RootfsRecipe, build_lock, build_rootfs
from triptych.private_path import check_dir
from triptych.process import run_local

# Sparse: room for the tools, a 1 GiB fio file and headroom, costing only what is written.
BASE_SIZE = "8G"


@dataclass(frozen=True)
class GuestBoot:
    """What a guest boots from: a base disk (read-only to us) and a kernel with its initrd."""

    base: Path
    kernel: Path
    initrd: Path | None


def _newest(boot: Path, pattern: str) -> Path:
    found = sorted(boot.glob(pattern))
    if not found:
        raise TriptychError(
            f"no {pattern} in {boot}: the root filesystem has no guest kernel; "
            "rebuild it with `triptych images build`"
        )
    return found[-1]


def guest_boot(recipe: RootfsRecipe, cache: Path = DEFAULT_CACHE) -> GuestBoot:
    """The cached base image, kernel and initrd for recipe, made from its rootfs if missing."""
    rootfs = build_rootfs(recipe, cache)
    final = cache / f"vm-{recipe.key}"
    if not (final.is_dir() or final.is_symlink()):
        with build_lock(cache, f"vm-{recipe.key}"):
            if not final.is_dir():
                _make_disk(rootfs, cache / f"vm-{recipe.key}.partial-{os.getpid()}", final)
    check_dir(final, "a cached guest disk")
    return GuestBoot(final / "base.img", final / "vmlinuz", final / "initrd.img")


def _make_disk(rootfs: Path, work: Path, final: Path) -> None:
    """The guest's kernel, initrd and raw base disk, made in work and renamed to final."""
    for stale in final.parent.glob(f"{final.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)  # a dead build's: we hold the build lock
    work.mkdir(mode=0o755)
    try:
        shutil.copy(_newest(rootfs / "boot", "vmlinuz-*"), work / "vmlinuz")
        shutil.copy(_newest(rootfs / "boot", "initrd.img-*"), work / "initrd.img")
        run_local(
            ["mkfs.ext4", "-q", "-F", "-L", "triptych", "-d", str(rootfs), str(work / "base.img"),
             BASE_SIZE],
            600,
        ).check("host")  # fmt: skip
        # The base never changes: overlays refer to it, so make that a fact on disk.
        (work / "base.img").chmod(0o444)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def session_overlay(base: Path, directory: Path, name: str) -> Path:
    """A qcow2 overlay backed by base: the guest writes there, the base stays as it was."""
    directory.mkdir(parents=True, exist_ok=True)
    overlay = directory / f"{name}.qcow2"
    run_local(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(overlay)], 60
    ).check("host")
    return overlay
