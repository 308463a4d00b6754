"""Connecting to the local Docker engine, and telling "the engine went away" from other errors."""

from __future__ import annotations

import os
import socket

import docker
import docker.errors
import requests.exceptions

from triptych.errors import PlatformUnavailable

API_TIMEOUT = 120
# What the SDK raises when dockerd is not there (any more): it does not wrap socket errors.
ENGINE_GONE = (requests.exceptions.ConnectionError, ConnectionError)


def _check_socket() -> None:
    """Fail fast on a local socket nobody listens on (the SDK would leak its own socket)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return
    path = host.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
    except OSError as e:
        raise PlatformUnavailable(
            f"Docker engine not reachable (nothing listens on {path}: {e.strerror}); "
            "start it with scripts/daemons.sh start"
        ) from None


def connect() -> docker.DockerClient:
    """A client for the local engine, or PlatformUnavailable saying how to start one."""
    _check_socket()
    client: docker.DockerClient | None = None
    try:
        client = docker.from_env(timeout=API_TIMEOUT)
        client.ping()
    except docker.errors.DockerException as e:
        if client is not None:
            client.close()
        reason = str(e).splitlines()[0][:200]
        raise PlatformUnavailable(
            f"Docker engine not reachable ({reason}); start it with scripts/daemons.sh start"
        ) from None
    return client


def why_gone(error: BaseException) -> str:
    """The OS's words for a lost engine connection, dug out of the SDK's wrapped exceptions."""
    stack: list[BaseException] = [error]
    while stack:
        e = stack.pop()
        if isinstance(e, OSError) and e.strerror:
            return e.strerror
        stack.extend(a for a in e.args if isinstance(a, BaseException))
    return "connection lost"
