"""What the `triptych` command does with a store: publish runs, and read runs back for the
report and the gate. Every message goes through the URL's redaction."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from triptych.errors import TriptychError
from triptych.results.load import Runs
from triptych.store.publish import Published, publish
from triptych.store.read import Selection, gate_view, report_view
from triptych.store.url import StoreError, connect, redact, shown


@contextmanager
def store(url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection; any database error is one line, with no password in it."""
    conn = connect(url)
    try:
        yield conn
    except psycopg.Error as e:
        text = " ".join(redact(str(e), url).split())
        raise StoreError(f"store {shown(url)}: {text}") from None
    finally:
        conn.close()


def publish_runs(url: str, paths: list[Path]) -> list[str]:
    """Publish; one line per run saying what happened."""
    with store(url) as conn:
        return [_said(p) for p in publish(conn, paths)]


def _said(p: Published) -> str:
    if p.session:
        return f"{p.name} ({p.session}): {p.outcome}"
    return f"{p.name}: {p.outcome}" if p.name else p.outcome


def parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise TriptychError(
            f"--since {text!r} is not a date; write it like 2026-11-01 or 2026-11-01T02:00"
        ) from None


def report_runs(url: str, machine: str | None, since: str | None) -> Runs:
    with store(url) as conn:
        return report_view(conn, Selection(machine, parse_since(since)))


def this_machine() -> str:
    """The name this machine's runs are stored under (pytest-benchmark's machine_info.node)."""
    return platform.node()


def gate_runs(url: str, machine: str | None, last: int) -> Runs:
    """The stored runs the gate needs: the machine's newest and up to `last` before it."""
    with store(url) as conn:
        return gate_view(conn, machine or this_machine(), last)
