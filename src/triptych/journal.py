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

from triptych.errors import JournalError, TriptychError
from triptych.record import CaseRecord


class Journal:
    """Append-only, line-per-record, durable after every write."""

    def __init__(self, path: Path, session: str, machine: dict[str, Any]) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
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
        with self.log_path.open("a", encoding="utf-8") as f:
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
    """Read a journal; a half-written last record is dropped with a warning, never a crash."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as e:
        raise TriptychError(f"{path}: cannot read the run journal ({e.strerror})") from None
    warnings: list[str] = []
    records: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            where = "its last record" if i >= len(lines) - 2 else f"record {i + 1}"
            warnings.append(f"{path}: {where} is half-written and was ignored")
    head = next((r for r in records if r.get("type") == "run"), None)
    if head is None:
        raise TriptychError(f"{path}: not a triptych journal (no run record); remove it")
    benchmarks = [
        {"name": r.get("name", ""), "extra_info": r.get("extra_info", {})}
        for r in records
        if r.get("type") == "case"
    ]
    partial = not any(r.get("type") == "end" for r in records)
    doc = {
        "datetime": head.get("datetime", ""),
        "machine_info": head.get("machine_info", {}),
        "commit_info": {},
        "benchmarks": benchmarks,
    }
    return JournalRun(doc, str(head.get("session", "")), partial, warnings)
