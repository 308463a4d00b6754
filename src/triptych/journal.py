"""The run journal: each finished case appended as one JSON line, so a crash loses nothing done.

pytest-benchmark writes its JSON only when the session ends. The journal sits beside it
(`.benchmarks/journal/SESSION.jsonl`), is fsynced after every case, and is read back by the
report and `triptych compare` as a run of its own when no saved JSON of the session exists,
marked partial unless its end record was written.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triptych import fields
from triptych.errors import JournalError, TriptychError
from triptych.record import CaseRecord
from triptych.session import valid_session

APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC


class Journal:
    """Append-only, line-per-record, durable after every write."""

    def __init__(self, path: Path, session: str, machine: dict[str, Any]) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Never through a link: a results directory may be one others can write.
            self._fd = os.open(path, APPEND, 0o644)
        except OSError as e:
            raise JournalError(
                f"{path}: cannot write the run journal ({e.strerror}); make "
                "the results directory writable or pass --triptych-journal DIR"
            ) from None
        self._write(
            {
                "type": "run",
                "session": session,
                "datetime": _now(),
                # The host's name, as pytest-benchmark's machine_info has it: a store keeps
                # each machine's runs apart by it.
                "machine_info": {
                    "node": platform.node(),
                    "triptych": {"session": session, **machine},
                },
            }
        )

    def _write(self, record: dict[str, Any]) -> None:
        data = memoryview((json.dumps(record, separators=(",", ":")) + "\n").encode())
        try:
            while data:  # a full disk may take part of a record before it refuses the rest
                data = data[os.write(self._fd, data) :]
            os.fsync(self._fd)
        except OSError as e:
            raise JournalError(
                f"{self.path}: cannot append to the run journal ({e.strerror}); "
                "free disk space or make it writable"
            ) from None

    @property
    def log_path(self) -> Path:
        """Beside the journal: raw tool output that could not be parsed, kept for a human."""
        return self.path.with_suffix(".log")

    def keep_raw(self, case: str, tool: str, raw: str) -> Path:
        with os.fdopen(os.open(self.log_path, APPEND, 0o644), "a", encoding="utf-8") as f:
            f.write(f"===== {_now()} {case}: unreadable {tool} output =====\n{raw}\n")
        return self.log_path

    def case(self, name: str, record: CaseRecord, status: str, error: str = "") -> None:
        self._write(
            {
                "type": "case",
                "name": name,
                "status": status,
                "error": error,
                "extra_info": record.to_extra_info(),
            }
        )

    def close(self, complete: bool, exitstatus: int) -> None:
        if self._fd < 0:
            return
        try:
            if complete:
                self._write({"type": "end", "datetime": _now(), "exitstatus": exitstatus})
        except JournalError:
            pass  # without its end record the run reads as partial, which it then is
        finally:
            os.close(self._fd)
            self._fd = -1


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


@dataclass
class JournalRun:
    """A journal read back in the shape of a pytest-benchmark document."""

    doc: dict[str, Any]
    session: str
    partial: bool
    warnings: list[str] = field(default_factory=list)


def read_journal(path: Path) -> JournalRun:
    """Read a journal; a line that cannot be read (half-written, not UTF-8, nested too deep,
    not an object) is skipped with a warning naming it, never a crash."""
    try:
        lines = fields.read_file(path).split(b"\n")
    except OSError as e:
        raise TriptychError(f"{path}: cannot read the run journal ({e.strerror})") from None
    warnings: list[str] = []
    records: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        where = "its last record" if i >= len(lines) - 2 else f"line {i + 1}"
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # JSON, UTF-8 and nesting errors alike
            how = "half-written" if where == "its last record" else "damaged"
            warnings.append(f"{path}: {where} is {how} and was ignored")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            warnings.append(f"{path}: {where} is not a journal record, skipped")
            continue
        records.append(record)
    head = next((r for r in records if r["type"] == "run"), None)
    if head is None:
        raise TriptychError(f"{path}: not a triptych journal (no run record); remove it")
    session = head.get("session")
    if not isinstance(session, str) or not valid_session(session):
        raise TriptychError(f"{path}: its session id is not one triptych writes; remove it")
    benchmarks = []
    for r in records:
        if r["type"] != "case":
            continue
        name, info = r.get("name", ""), r.get("extra_info", {})
        if not isinstance(name, str) or not isinstance(info, dict):
            warnings.append(f"{path}: a case record of the wrong shape, skipped")
            continue
        benchmarks.append({"name": name, "extra_info": info})
    partial = not any(r["type"] == "end" for r in records)
    machine = head.get("machine_info", {})
    date = head.get("datetime", "")
    doc = {
        "datetime": date if isinstance(date, str) else "",
        "machine_info": machine if isinstance(machine, dict) else {},
        "commit_info": {},
        "benchmarks": benchmarks,
    }
    return JournalRun(doc, session, partial, warnings)
