"""`triptych clean`: remove what earlier (crashed) sessions left, by label, and nothing else."""

from __future__ import annotations

import contextlib
import shutil

import docker
import docker.errors
import libvirt

from triptych.errors import PlatformUnavailable
from triptych.platforms import libvirt_conn
from triptych.platforms.docker import connect
from triptych.platforms.vm import NAMESPACE, SESSIONS_DIR
from triptych.session import LABEL, MANAGED_LABEL, NAME_PREFIX


def clean_docker(session: str | None = None) -> list[str]:
    """Remove the suite's containers, volumes and networks (of one session, or of all)."""
    try:
        client = connect()
    except PlatformUnavailable:
        return []
    selector = [f"{MANAGED_LABEL}=1"] + ([f"{LABEL}={session}"] if session else [])
    removed: list[str] = []
    try:
        for c in client.containers.list(all=True, filters={"label": selector}):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True, v=True)
                removed.append(f"container {c.name}")
        for v in client.volumes.list(filters={"label": selector}):
            with contextlib.suppress(docker.errors.NotFound):
                v.remove(force=True)
                removed.append(f"volume {v.name}")
        for n in client.networks.list(filters={"label": selector}):
            with contextlib.suppress(docker.errors.NotFound):
                n.remove()
                removed.append(f"network {n.name}")
    finally:
        client.close()
    return removed


def _is_suite_domain(domain: libvirt.virDomain) -> bool:
    if not domain.name().startswith(NAME_PREFIX):
        return False
    try:
        domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE, 0)
    except libvirt.libvirtError:
        return False  # a name like ours, but not marked as ours: not ours to remove
    return True


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


def clean_libvirt(session: str | None = None) -> list[str]:
    """Destroy the suite's domains and networks (name prefix + our metadata) and their disks."""
    try:
        conn = libvirt_conn.connect()
    except PlatformUnavailable:
        return []
    prefix = f"{NAME_PREFIX}{session}" if session else NAME_PREFIX
    removed: list[str] = []
    try:
        for dom in conn.listAllDomains(0):
            if dom.name().startswith(prefix) and _is_suite_domain(dom):
                removed += _remove(dom, f"domain {dom.name()}")
        for net in conn.listAllNetworks(0):
            if net.name().startswith(prefix):
                removed += _remove(net, f"network {net.name()}")
    finally:
        conn.close()
    if SESSIONS_DIR.is_dir():
        for d in SESSIONS_DIR.glob(f"{prefix}*"):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(f"guest disks {d}")
    return removed
