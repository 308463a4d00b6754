"""Which runs a set of paths holds: saved runs (pytest-benchmark JSON) and the journals of runs
that saved none, each named once and marked partial when it stopped before its end. The report
reads them (report.load) and `triptych publish` sends them to a store (store.publish)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from triptych import fields
from triptych.errors import TriptychError
from triptych.journal import read_journal
from triptych.session import valid_session


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """The JSON files named, or found under the directories named, oldest first."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            # Links are not followed (what one points at is not the directory's); each file is
            # opened without following one and read only if regular and under a size cap.
            found.extend(
                sorted(f for f in [*p.rglob("*.json"), *p.rglob("*.jsonl")] if not f.is_symlink())
            )
        elif p.is_file():
            found.append(p)
        else:
            raise TriptychError(
                f"{p}: no such run file or directory; pass a saved run "
                "(.benchmarks/<machine>/NNNN_name.json) or a directory of them"
            )
    return found


@dataclass(frozen=True)
class Source:
    """One run: a saved JSON (doc None: read it when needed) or a journal's document."""

    name: str  # the file's stem, or SESSION-journal for a run that saved nothing
    path: Path
    session: str
    partial: bool
    doc: dict[str, Any] | None = None


@dataclass
class Sources:
    runs: list[Source] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def session_of(path: Path) -> str:
    """A saved run's session id (its machine_info.triptych.session), read cheaply; "" when it
    has none that triptych writes."""
    try:
        doc = orjson.loads(fields.read_file(path))
    except (OSError, orjson.JSONDecodeError):
        return ""
    return session_in(doc)


def session_in(doc: object) -> str:
    """The session id a run document names, if it is one triptych writes (else "")."""
    machine = doc.get("machine_info") if isinstance(doc, dict) else None
    t = machine.get("triptych") if isinstance(machine, dict) else None
    session = t.get("session") if isinstance(t, dict) else None
    return session if isinstance(session, str) and valid_session(session) else ""


def sources(files: list[Path], sessions: dict[Path, str] | None = None) -> Sources:
    """Every run among files (find_runs), once: a session's saved JSON is its record (partial
    if its journal never reached its end); a journal whose session saved nothing is a run of its
    own. `sessions` gives saved runs' sessions when the caller has read them already."""
    out = Sources()
    saved = {p: (sessions or {}).get(p) or session_of(p) for p in files if p.suffix == ".json"}
    by_session = {s: p for p, s in saved.items() if s}
    partial: set[str] = set()
    journals: list[Source] = []
    for path in (p for p in files if p.suffix == ".jsonl"):
        try:
            j = read_journal(path)
        except TriptychError as e:
            out.warnings.append(f"skipped {path}: {e}")
            continue
        out.warnings.extend(j.warnings)
        if j.session in by_session:
            if j.partial:
                partial.add(j.session)
            continue
        named = path.with_name(f"{j.session}-journal")
        journals.append(Source(named.stem, named, j.session, j.partial, j.doc))
    out.runs = [Source(p.stem, p, s, s in partial) for p, s in saved.items()] + journals
    return out
