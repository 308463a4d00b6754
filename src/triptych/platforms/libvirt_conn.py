"""Connecting to libvirtd, quietly (failed agent polls must not spray libvirt's stderr)."""

from __future__ import annotations

import os

import libvirt

from triptych.errors import PlatformUnavailable

# libvirt's own variable: a user may point the suite at another local daemon's socket.
URI = os.environ.get("LIBVIRT_DEFAULT_URI", "qemu:///system")


def _ignore(_ctx: object, _err: object) -> None:
    return None


libvirt.registerErrorHandler(_ignore, None)


def connect(uri: str = URI) -> libvirt.virConnect:
    """An open connection, or PlatformUnavailable saying how to start libvirtd."""
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as e:
        reason = (e.get_error_message() or str(e)).splitlines()[0][:200]
        raise PlatformUnavailable(
            f"libvirtd not reachable at {uri} ({reason}); start it with scripts/daemons.sh start"
        ) from None
    if conn is None:
        raise PlatformUnavailable(f"libvirtd not reachable at {uri}")
    return conn


def alive(conn: libvirt.virConnect) -> bool:
    """Whether libvirtd is still at the other end of conn."""
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False
