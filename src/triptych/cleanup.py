"""`triptych clean`: remove what earlier (crashed) sessions left, by label, and nothing else."""

from __future__ import annotations

import contextlib

import docker
import docker.errors

from triptych.errors import PlatformUnavailable
from triptych.platforms.docker import connect
from triptych.session import LABEL, MANAGED_LABEL


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
