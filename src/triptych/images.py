"""One userland for every platform: a debootstrap root filesystem, cached by a content key,
imported as the Docker image (and turned into the VM disk by the VM platform)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from triptych import __version__
from triptych.errors import TriptychError
from triptych.private_path import check_dir, open_private_file, private_dir
from triptych.service_user import SERVICE_UID, SERVICES_DIR
from triptych.tools import PLATFORM, on_platforms, packages

RELEASE = "bookworm"
# The tools every platform runs (triptych.tools), and what a guest needs to boot and be reached.
PACKAGES = (
    *packages(PLATFORM),
    "procps",
    "iproute2",
    "python3",
    "linux-image-amd64",
    "qemu-guest-agent",
    "systemd",
    "systemd-sysv",
    "udev",
    "e2fsprogs",
)
# Bump when the recipe (post-configuration) changes, so caches are rebuilt.
RECIPE = 5
REQUIRED_TOOLS = (*(t.executable for t in on_platforms()), "timeout", "sh")
# The packaged services the suite starts itself, in the foreground: never at a guest's boot.
SERVICE_UNITS = ("redis-server.service", "nginx.service", "postgresql.service")
IMAGE_REPOSITORY = "triptych/bench"
IMAGE_LABEL = "io.triptych.image"
# Where a container's volume is mounted. The image holds its services directory, owned by the
# service user: Docker copies it into every new volume, since a container without capabilities
# cannot chown one itself.
VOLUME_MOUNT = "/triptych-volume"
DEFAULT_CACHE = Path(os.environ.get("TRIPTYCH_CACHE", "/var/cache/triptych"))
Progress = Callable[[str], None]


def _stderr_progress(line: str) -> None:
    print(f"triptych: {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RootfsRecipe:
    """What goes into the root filesystem; its key names the cache entry and the image tag."""

    release: str = RELEASE
    packages: tuple[str, ...] = PACKAGES

    @property
    def key(self) -> str:
        doc = {
            "release": self.release,
            "packages": sorted(self.packages),
            "recipe": RECIPE,
            "triptych": __version__,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def image_tag(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.key}"


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt already uses here (one-line or deb822 sources)."""
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if m.group(2).startswith(RELEASE) and "security" not in m.group(1):
                return m.group(1)
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and RELEASE in suites.group(1).split():
                return uris.group(1)
    raise TriptychError(
        f"no Debian {RELEASE} mirror in {sources}/sources.list*; add one so "
        "debootstrap can fetch packages"
    )


def _enable(root: Path, target: str, unit: str) -> None:
    wants = root / "etc/systemd/system" / f"{target}.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / unit
    if not link.is_symlink():
        link.symlink_to(f"/lib/systemd/system/{unit}")


def _configure_guest(root: Path) -> None:
    """Make the same tree boot as a guest: fstab, hostname, DHCP on the NIC, the agent on."""
    (root / "etc/hostname").write_text("triptych-guest\n")
    (root / "etc/fstab").write_text("/dev/vda / ext4 rw,relatime 0 1\n")
    network = root / "etc/systemd/network"
    network.mkdir(parents=True, exist_ok=True)
    # Every guest boots this one tree, so it shares its machine-id, and the DHCP client's
    # default identity (a DUID made from it): two guests of a session (a neighbour, a cold
    # start, density's) were given one address. Each NIC's own MAC (libvirt's, per domain)
    # identifies it instead.
    (network / "20-triptych.network").write_text(
        "[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\n"
    )
    _enable(root, "multi-user.target", "systemd-networkd.service")
    _enable(root, "sockets.target", "systemd-networkd.socket")
    for unit in SERVICE_UNITS:
        mask = root / "etc/systemd/system" / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")
    # The agent is started by udev when its virtio port appears; the root password stays
    # locked: the guest is reached only through the agent.
    services = root / VOLUME_MOUNT.lstrip("/") / SERVICES_DIR
    services.mkdir(parents=True, exist_ok=True)
    os.chown(services, SERVICE_UID, SERVICE_UID)
    services.chmod(0o700)


PROGRESS_LINES = (
    "I: Retrieving",
    "I: Extracting",
    "I: Installing",
    "I: Configuring",
    "I: Base system",
)


def _debootstrap(argv: list[str], work: Path, log: Path, progress: Progress) -> None:
    """Run debootstrap, passing its stage lines on; on failure keep its log and say where."""
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            tail = [*tail[-20:], line.rstrip()]
            if line.startswith(PROGRESS_LINES):
                progress(f"debootstrap: {line.strip()[3:]}")
    if proc.returncode != 0:
        with contextlib.suppress(OSError):
            shutil.copy(work / "debootstrap/debootstrap.log", log)
        last = tail[-1] if tail else ""
        raise TriptychError(
            f"debootstrap failed with exit code {proc.returncode}: {last} (log: {log})"
        )


def build_rootfs(
    recipe: RootfsRecipe, cache: Path = DEFAULT_CACHE, progress: Progress = _stderr_progress
) -> Path:
    """The cached root filesystem for recipe, built with debootstrap if missing.

    The cache is root's (created 0755, else checked: owned by root, writable by nobody else),
    and so is every entry it serves. It is built in a temporary directory and renamed into place
    only when complete, so a build that fails half-way is never used later; builds of one key
    take turns on a lock, so two at once never delete each other's partial work.
    """
    final = cache / f"rootfs-{recipe.key}"
    private_dir(cache, "the image cache", 0o755)
    if final.is_dir() or final.is_symlink():
        return check_dir(final, "a cached root filesystem")
    if shutil.which("debootstrap") is None:
        raise TriptychError("debootstrap is not installed; run scripts/install.sh")
    with build_lock(cache, recipe.key):
        if final.is_dir() or final.is_symlink():  # built by the run we waited for
            return check_dir(final, "a cached root filesystem")
        # Only the lock's holder builds this key: what a partial directory holds is a dead
        # build's.
        for stale in cache.glob(f"rootfs-{recipe.key}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)
        _build(recipe, cache, final, progress)
    progress(f"root filesystem ready: {final}")
    return final


@contextlib.contextmanager
def build_lock(cache: Path, key: str) -> Iterator[None]:
    """Builds of one cache entry, one at a time (an flock the kernel drops with its holder)."""
    fd = open_private_file(cache / f".build-{key}.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _build(recipe: RootfsRecipe, cache: Path, final: Path, progress: Progress) -> None:
    work = cache / f"rootfs-{recipe.key}.partial-{os.getpid()}"
    mirror = apt_mirror()
    argv = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(recipe.packages)}",
        recipe.release,
        str(work),
        mirror,
    ]
    progress(f"building root filesystem {recipe.key} from {mirror} (a few minutes, once)")
    try:
        _debootstrap(argv, work, cache / f"debootstrap-{recipe.key}.log", progress)
        _configure_guest(work)
        (work / "etc/triptych-rootfs").write_text(recipe.key + "\n")
        work.chmod(0o755)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def docker_image(
    client: docker.DockerClient,
    recipe: RootfsRecipe,
    rootfs: Path,
    progress: Progress = _stderr_progress,
) -> str:
    """The id of the Docker image made from rootfs (`docker import`), importing it if missing."""
    try:
        return str(client.images.get(recipe.image_tag).id)
    except docker.errors.ImageNotFound:
        pass
    progress(f"importing {rootfs} as Docker image {recipe.image_tag}")
    with subprocess.Popen(
        ["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
    ) as tar:
        assert tar.stdout is not None
        # Import is atomic on the engine's side: a failed stream leaves no tagged image.
        client.api.import_image_from_stream(
            tar.stdout,
            repository=IMAGE_REPOSITORY,
            tag=recipe.key,
            changes=[f"LABEL {IMAGE_LABEL}={recipe.key}", 'CMD ["sleep", "infinity"]'],
        )
    if tar.returncode != 0:
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(recipe.image_tag, force=True)
        raise TriptychError(f"tar of {rootfs} failed with exit code {tar.returncode}")
    image_id = str(client.images.get(recipe.image_tag).id)
    progress(f"Docker image ready: {recipe.image_tag} ({image_id[:19]})")
    return image_id
