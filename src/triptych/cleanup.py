"""Removing what the suite created, by its labels and nothing else.

`triptych clean` removes every labelled resource (of one session, or of all); each run, before it
starts a platform, sweeps what runs that died left behind: resources whose owner process is gone.
"""

from __future__ import annotations

import contextlib
import shutil
import warnings
from typing import Any
from xml.etree import ElementTree

import docker
import docker.errors
import libvirt

from triptych.errors import PlatformUnavailable
from triptych.platforms import docker_conn, libvirt_conn
from triptych.platforms.libvirt_conn import NAMESPACE, SESSIONS_DIR
from triptych.session import LABEL, MANAGED_LABEL, NAME_PREFIX, OWNER_LABEL, owner_dead

OWNER_FILE = "owner"


class LeftoversRemoved(UserWarning):
    """A run removed what earlier runs that died had left behind."""


def report_swept(removed: list[str]) -> None:
    if removed:
        warnings.warn(
            LeftoversRemoved(
                f"removed {len(removed)} resource(s) left by runs that died: {', '.join(removed)}"
            ),
            stacklevel=2,
        )


def report_left(platform: str, reason: str, left: list[str]) -> None:
    """Say what a platform could not remove, and who will."""
    if left:
        warnings.warn(
            f"{platform}: {reason}, so {' and '.join(left)} could not be removed; "
            "the next run (or `triptych clean`) removes them",
            stacklevel=3,
        )


def sweep_docker(
    client: docker.DockerClient, session: str | None = None, stale_only: bool = False
) -> list[str]:
    """Remove the suite's containers, volumes and networks: of one session, of all, or only
    those whose owner process is gone."""
    selector = [f"{MANAGED_LABEL}=1"] + ([f"{LABEL}={session}"] if session else [])
    filters: dict[str, Any] = {"label": selector}

    def chosen(labels: dict[str, str] | None) -> bool:
        return not stale_only or owner_dead((labels or {}).get(OWNER_LABEL, ""))

    removed: list[str] = []
    for c in client.containers.list(all=True, filters=filters):
        if chosen(c.labels):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True, v=True)
                removed.append(f"container {c.name}")
    for v in client.volumes.list(filters=filters):
        if chosen(v.attrs.get("Labels")):
            with contextlib.suppress(docker.errors.NotFound):
                v.remove(force=True)
                removed.append(f"volume {v.name}")
    for n in client.networks.list(filters=filters):
        if chosen(n.attrs.get("Labels")):
            with contextlib.suppress(docker.errors.NotFound):
                n.remove()
                removed.append(f"network {n.name}")
    return removed


def clean_docker(session: str | None = None) -> list[str]:
    """`triptych clean` for Docker: nothing to do when the engine is not there."""
    try:
        client = docker_conn.connect()
    except PlatformUnavailable:
        return []
    try:
        return sweep_docker(client, session)
    finally:
        client.close()


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
