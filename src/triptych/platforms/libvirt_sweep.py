"""How the suite marks what it creates in libvirt, and the sweep that removes it by those marks.

A guest carries <triptych:suite session=... owner=...> metadata; the session's network and guest
disks are owned through an owner file in the session directory. Names start with NAME_PREFIX,
but a name is never enough: only what carries the owner mark of a dead owner is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

import libvirt

from triptych.errors import PlatformUnavailable
from triptych.platforms import libvirt_conn
from triptych.platforms.host_sweep import claim_dir, read_owner
from triptych.private_path import private_dir
from triptych.session import NAME_PREFIX, owner, owner_dead, valid_session

NAMESPACE = "https://triptych.dev/xmlns/libvirt/1"
# Per-session guest disks and the owner record of the session's network live here.
SESSIONS_DIR = Path(os.environ.get("TRIPTYCH_VM_DIR", "/var/lib/triptych/vm"))
OWNER_FILE = "owner"


def metadata_xml(session: str) -> str:
    """The <metadata> element that marks a domain as this process's."""
    return (
        f'<metadata><triptych:suite xmlns:triptych="{NAMESPACE}" session={quoteattr(session)} '
        f"owner={quoteattr(owner())}/></metadata>"
    )


def claim_session_dir(path: Path) -> bool:
    """Create the session directory with this process as its owner; False if it was there
    already (it holds what an earlier instance could not remove, and must be kept)."""
    if path.exists() or path.is_symlink():
        return False
    private_dir(path.parent, "the guests' disk directory", 0o711)
    path.mkdir(mode=0o711)
    claim_dir(path, OWNER_FILE)
    return True


def _suite_marker(domain: libvirt.virDomain) -> ElementTree.Element | None:
    """Our metadata element, or None for a domain that is not the suite's."""
    if not domain.name().startswith(NAME_PREFIX):
        return None
    try:
        xml = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE, 0)
        return ElementTree.fromstring(xml)  # noqa: S314 - libvirt's echo of our own element
    except (libvirt.libvirtError, ElementTree.ParseError):
        return None  # a name like ours, but not marked as ours: not ours to remove


def _remove(obj: libvirt.virDomain | libvirt.virNetwork, what: str) -> list[str]:
    """Destroy and undefine; a transient object vanishes on destroy, so ask before."""
    try:
        persistent = obj.isPersistent()
        if obj.isActive():
            obj.destroy()
        if persistent:
            obj.undefine()
    except libvirt.libvirtError:
        return []
    return [what]


def _dead_dirs(session: str | None) -> list[Path]:
    """Session directories (guest disks, the network's owner) whose owner is dead."""
    if not SESSIONS_DIR.is_dir():
        return []
    prefix = f"{NAME_PREFIX}{session}" if session else NAME_PREFIX
    return [
        d
        for d in sorted(SESSIONS_DIR.glob(f"{prefix}*"))
        if (session is None or d.name == prefix or d.name.startswith(f"{prefix}-"))
        and owner_dead(read_owner(d, OWNER_FILE))
    ]


def sweep_libvirt(conn: libvirt.virConnect, session: str | None = None) -> list[str]:
    """Destroy what runs that died left (of one session, or of any): domains marked with our
    metadata whose owner is dead; the transient network and the disks of a session directory
    whose owner file names a dead owner. A persistent network, or one whose name merely starts
    like ours, is never touched."""
    if session is not None and not valid_session(session):
        return []
    removed: list[str] = []
    for dom in conn.listAllDomains(0):
        marker = _suite_marker(dom)
        if marker is None or not owner_dead(marker.get("owner", "")):
            continue
        if session is None or marker.get("session") == session:
            removed += _remove(dom, f"domain {dom.name()}")
    dead = _dead_dirs(session)
    names = {d.name for d in dead}
    for net in conn.listAllNetworks(0):
        with contextlib.suppress(libvirt.libvirtError):
            if net.name() in names and not net.isPersistent():
                removed += _remove(net, f"network {net.name()}")
    for d in dead:
        shutil.rmtree(d, ignore_errors=True)
        removed.append(f"guest disks {d}")
    return removed


def clean_libvirt(session: str | None = None, scratch: Path | None = None) -> list[str]:
    """`triptych clean` for libvirt: nothing to do when libvirtd is not there."""
    try:
        conn = libvirt_conn.connect()
    except PlatformUnavailable:
        return []
    try:
        return sweep_libvirt(conn, session)
    finally:
        conn.close()
