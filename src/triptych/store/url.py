"""Which store, and how to reach it without ever showing its password.

The URL comes from `--store` or TRIPTYCH_STORE; its password from the URL, libpq's environment
(PGPASSWORD) or ~/.pgpass, all read by libpq itself. Every message the store code writes goes
through `redact()`, which removes the password wherever it appears.
"""

from __future__ import annotations

import os
import re

import psycopg
from psycopg import conninfo

from triptych.errors import TriptychError

EXAMPLE = "postgresql://USER@HOST:5432/DATABASE"
CONNECT_TIMEOUT = 10  # seconds: an unreachable store fails fast, in one line


class StoreError(TriptychError):
    """A store that cannot be reached or used; the message names the fix, never a password."""


def _password(url: str) -> str:
    try:
        return str(conninfo.conninfo_to_dict(url).get("password") or "")
    except psycopg.ProgrammingError:
        match = re.search(r"://[^:/@]*:([^@]*)@", url)
        return match.group(1) if match else ""


def redact(text: str, url: str) -> str:
    """text with the URL's password (and PGPASSWORD's) replaced by ***."""
    for secret in {_password(url), os.environ.get("PGPASSWORD", "")}:
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)


def shown(url: str) -> str:
    """The URL as messages show it."""
    return redact(url, url)


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the store, or a one-line StoreError naming the fix."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise StoreError(
            f"store URL {shown(url)} is malformed ({redact(str(e), url).strip()}); "
            f"write it like {EXAMPLE}"
        ) from None
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    params.setdefault("application_name", "triptych")
    try:
        return psycopg.connect(**params)  # type: ignore[arg-type]
    except psycopg.OperationalError as e:
        raise StoreError(f"cannot reach the store {shown(url)}: {_why(e, url)}") from None


def _why(error: psycopg.OperationalError, url: str) -> str:
    """libpq's reason, on one line, with the fix for the usual ones."""
    text = " ".join(redact(str(error), url).split())
    if "password authentication failed" in text or "no password supplied" in text:
        return f"{text}; give the right password in the URL, PGPASSWORD or ~/.pgpass"
    if "invalid" in text:
        return f"{text}; fix it in the URL (written like {EXAMPLE})"
    if "does not exist" in text:
        return f"{text}; create it (createdb) or name another in the URL"
    return f"{text}; check that PostgreSQL runs there and the URL's host and port"
