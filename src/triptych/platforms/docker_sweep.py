"""How the suite marks what it creates in Docker, and the sweep that removes it by those marks.

Each run, before it starts a container platform, and `triptych clean` remove what runs that died
left: resources with our labels whose owner is provably dead, never anything else.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import docker
import docker.errors

from triptych.errors import PlatformUnavailable
from triptych.platforms import docker_conn
from triptych.session import owner, owner_dead, valid_session

LABEL = "io.triptych.session"
# Every resource the suite creates carries both; `triptych clean` removes only what has them.
MANAGED_LABEL = "io.triptych.managed"
# Who created it: "HOST:PID:START" (see triptych.session.owner).
OWNER_LABEL = "io.triptych.owner"
PLATFORM_LABEL = "io.triptych.platform"


def labels(session: str, platform: str) -> dict[str, str]:
    """The marks of a container or volume this process creates for `platform`."""
    return {LABEL: session, MANAGED_LABEL: "1", OWNER_LABEL: owner(), PLATFORM_LABEL: platform}


def sweep_docker(client: docker.DockerClient, session: str | None = None) -> list[str]:
    """Remove the suite's containers, volumes and networks whose owner is dead (of one session,
    or of any). Each must carry our managed label and an owner label naming a dead owner: a
    resource without them (a user's, an older triptych's) is never touched."""
    if session is not None and not valid_session(session):
        return []
    selector = [f"{MANAGED_LABEL}=1"] + ([f"{LABEL}={session}"] if session else [])
    filters: dict[str, Any] = {"label": selector}

    def chosen(marks: dict[str, str] | None) -> bool:
        return owner_dead((marks or {}).get(OWNER_LABEL, ""))

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


def clean_docker(session: str | None = None, scratch: Path | None = None) -> list[str]:
    """`triptych clean` for Docker: nothing to do when the engine is not there."""
    try:
        client = docker_conn.connect()
    except PlatformUnavailable:
        return []
    try:
        return sweep_docker(client, session)
    finally:
        client.close()
