"""A guest's root writes its agent's replies: real ones (captured from the suite's guest) are
read as the guest meant them, and hostile ones end in one line naming the guest, never a
traceback or a figure made up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from triptych.errors import TriptychError
from triptych.platforms.guest_agent import outcome

# guest-exec-status of `echo out; echo err >&2; exit 3`, and of a shell that killed itself
REPLIES = json.loads((Path(__file__).parent / "data" / "guest-agent-exec.json").read_text())


def test_a_real_ended_command_reads_as_it_ended() -> None:
    assert outcome(REPLIES["exited"], "g") == (3, "out\n", "err\n")


def test_a_real_signalled_command_reads_as_a_shell_reports_it() -> None:
    assert outcome(REPLIES["signalled"], "g") == (128 + 9, "", "")


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"exitcode": "3"}, "exit status"),
        ({"exitcode": 3.5}, "exit status"),
        ({"exitcode": True}, "exit status"),
        ({"exitcode": -1}, "exit status"),
        ({"exitcode": 256}, "exit status"),
        ({"exitcode": None}, "exit status"),
        ({"out-data": "not base64!"}, "out-data is not base64"),
        ({"out-data": 7}, "out-data is not base64"),
        ({"err-data": ["ZXJyCg=="]}, "err-data is not base64"),
    ],
)
def test_a_hostile_ended_command_is_one_line(change: dict[str, Any], what: str) -> None:
    with pytest.raises(TriptychError, match=rf"^guest agent of g: the command's {what}"):
        outcome({**REPLIES["exited"], **change}, "guest agent of g")


@pytest.mark.parametrize("signal", ["9", 0, -9, 128, 1e9, None, [9]])
def test_a_hostile_signal_is_one_line(signal: object) -> None:
    with pytest.raises(TriptychError, match=r"exit status is not one"):
        outcome({**REPLIES["signalled"], "signal": signal}, "guest agent of g")
