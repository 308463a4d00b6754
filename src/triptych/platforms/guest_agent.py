"""Running commands in a guest through the QEMU guest agent (no ssh, no keys, no passwords)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from typing import Any

import libvirt
import libvirt_qemu

from triptych.errors import CommandTimeout, TriptychError
from triptych.process import CommandResult, terminate, timed_result, with_kill_timeout

POLL = 0.05
# The agent itself must answer within this; the command's own timeout is separate.
AGENT_TIMEOUT = 30


class Agent:
    """The guest agent of one running domain."""

    def __init__(self, domain: libvirt.virDomain) -> None:
        self.domain = domain

    def command(
        self, execute: str, arguments: dict[str, Any] | None = None, timeout: int = AGENT_TIMEOUT
    ) -> Any:  # noqa: ANN401
        """One agent command; its `return` value."""
        msg: dict[str, Any] = {"execute": execute}
        if arguments is not None:
            msg["arguments"] = arguments
        try:
            reply = libvirt_qemu.qemuAgentCommand(self.domain, json.dumps(msg), timeout, 0)
        except libvirt.libvirtError as e:
            raise TriptychError(
                f"guest agent of {self.domain.name()}: {e.get_error_message()}"
            ) from None
        try:
            doc = json.loads(reply)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise TriptychError(
                f"guest agent of {self.domain.name()}: {execute}'s reply is not a JSON object"
            )
        return doc.get("return")

    def ping(self) -> bool:
        try:
            self.command("guest-ping", timeout=2)
        except TriptychError:
            return False
        return True

    def start(self, argv: Sequence[str], capture: bool) -> int:
        args = [str(a) for a in argv]
        ret = self.command(
            "guest-exec", {"path": args[0], "arg": args[1:], "capture-output": capture}
        )
        pid = ret.get("pid") if isinstance(ret, dict) else None
        if type(pid) is not int or pid <= 0:
            raise TriptychError(
                f"guest agent of {self.domain.name()}: guest-exec named no process id for {args[0]}"
            )
        return pid

    def status(self, pid: int) -> dict[str, Any]:
        result = self.command("guest-exec-status", {"pid": pid})
        if not isinstance(result, dict):
            raise TriptychError(
                f"guest agent of {self.domain.name()}: guest-exec-status of {pid} is not an object"
            )
        return result

    def run(self, argv: Sequence[str], timeout: float, where: str) -> CommandResult:
        """Run argv in the guest and wait; `timeout` kills it inside the guest, too."""
        args = [str(a) for a in argv]
        started = time.monotonic()
        pid = self.start(with_kill_timeout(args, timeout), capture=True)
        # The agent may lag under emulation: allow it a grace period beyond the tool's timeout.
        deadline = started + timeout + AGENT_TIMEOUT
        while True:
            st = self.status(pid)
            if st.get("exited"):
                break
            if time.monotonic() > deadline:
                raise CommandTimeout(args, timeout, "", "", where)
            time.sleep(POLL)
        code, out, err = outcome(st, f"guest agent of {where}")
        return timed_result(args, code, out, err, started, timeout, where)


def outcome(status: dict[str, Any], who: str) -> tuple[int, str, str]:
    """An ended command's exit code and output from its guest-exec-status, checked: killed by a
    signal reads the way a shell (and Docker) reports it, 128 + signal."""
    code, signal = status.get("exitcode"), status.get("signal", 9)
    if "exitcode" not in status:
        code = 128 + signal if type(signal) is int and 0 < signal < 128 else None
    if type(code) is not int or not 0 <= code < 256:
        raise TriptychError(f"{who}: the command's exit status is not one (exitcode, signal)")
    return code, _text(status, "out-data", who), _text(status, "err-data", who)


def _text(status: dict[str, Any], key: str, who: str) -> str:
    data = status.get(key, "")
    try:
        if not isinstance(data, str):
            raise TypeError(key)
        return base64.b64decode(data, validate=True).decode(errors="replace")
    except (TypeError, ValueError):
        raise TriptychError(f"{who}: the command's {key} is not base64") from None


class GuestProcess:
    """A server started in the guest by the agent; stopped by its pid."""

    def __init__(self, agent: Agent, argv: Sequence[str]) -> None:
        self._agent = agent
        self.pid = agent.start(argv, capture=False)

    def alive(self) -> bool:
        try:
            return not self._agent.status(self.pid).get("exited", True)
        except TriptychError:
            return False

    def _signal(self, name: str) -> None:
        self._agent.start(["kill", f"-{name}", str(self.pid)], capture=False)

    def stop(self) -> None:
        try:
            terminate(lambda: self._signal("TERM"), self.alive, lambda: self._signal("KILL"))
        except TriptychError:
            return  # the guest is gone, and the server with it
