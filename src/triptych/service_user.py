"""The unprivileged user every server of the suite runs as, on every platform, and its directory.

Servers run as nobody:nogroup (Debian's 65534), never as root: inside a container without
capabilities root could not drop to another user, and PostgreSQL refuses to run as root.
"""

from __future__ import annotations

from collections.abc import Sequence

SERVICE_UID = 65534
# The directory of the service user's on a platform's primary disk, where servers keep files.
SERVICES_DIR = "services"


def as_service_user(argv: Sequence[str]) -> list[str]:
    """argv run by root as the service user (util-linux setpriv, on the host and in guests)."""
    return [
        "setpriv",
        f"--reuid={SERVICE_UID}",
        f"--regid={SERVICE_UID}",
        "--clear-groups",
        "--",
        *[str(a) for a in argv],
    ]
