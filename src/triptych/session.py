"""The session id that labels everything one run creates."""

from __future__ import annotations

import secrets
import time

LABEL = "io.triptych.session"
NAME_PREFIX = "triptych-"


def new_session_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


# Every resource the suite creates carries both; `triptych clean` removes only what has them.
MANAGED_LABEL = "io.triptych.managed"
