"""How the suite marks what it creates in libvirt, and the sweep that removes it by those marks.

A guest carries <triptych:suite session=... owner=...> metadata; the session's network and guest
disks are owned through an owner file in the session directory. Names start with NAME_PREFIX.
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
from triptych.session import NAME_PREFIX, owner, owner_dead

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
    if path.exists():
        return False
    path.mkdir(parents=True)
    (path / OWNER_FILE).write_text(owner() + "\n")
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


def _dead_sessions(conn: libvirt.virConnect) -> set[str]:
    """Sessions whose owner process is gone, from domain metadata and session directories."""
    dead = set()
    for dom in conn.listAllDomains(0):
        marker = _suite_marker(dom)
        if marker is not None and owner_dead(marker.get("owner", "")):
            dead.add(marker.get("session", ""))
    if SESSIONS_DIR.is_dir():
        for d in SESSIONS_DIR.glob(f"{NAME_PREFIX}*"):
            with contextlib.suppress(OSError):
                if owner_dead((d / OWNER_FILE).read_text().strip()):
                    dead.add(d.name.removeprefix(NAME_PREFIX))
    dead.discard("")
    return dead


def sweep_libvirt(
    conn: libvirt.virConnect, session: str | None = None, stale_only: bool = False
) -> list[str]:
    """Destroy the suite's domains and networks (name prefix + our marks) and their disks."""
    if stale_only:
        removed: list[str] = []
        for dead in sorted(_dead_sessions(conn)):
            removed += sweep_libvirt(conn, dead)
        return removed
    prefix = f"{NAME_PREFIX}{session}" if session else NAME_PREFIX
    removed = []
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(prefix) and _suite_marker(dom) is not None:
            removed += _remove(dom, f"domain {dom.name()}")
    for net in conn.listAllNetworks(0):
        if net.name().startswith(prefix):
            removed += _remove(net, f"network {net.name()}")
    if SESSIONS_DIR.is_dir():
        for d in SESSIONS_DIR.glob(f"{prefix}*"):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(f"guest disks {d}")
    return removed


def clean_libvirt(session: str | None = None) -> list[str]:
    """`triptych clean` for libvirt: nothing to do when libvirtd is not there."""
    try:
        conn = libvirt_conn.connect()
    except PlatformUnavailable:
        return []
    try:
        return sweep_libvirt(conn, session)
    finally:
        conn.close()
