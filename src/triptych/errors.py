"""Typed exceptions; each carries a one-line message meant for the user."""

from __future__ import annotations


class TriptychError(Exception):
    """Base for every error the suite reports to the user in one line."""


class ScenarioError(TriptychError):
    """A scenario file is wrong; the message names the file, the key and the fix."""


class PlatformUnavailable(TriptychError):
    """A platform cannot run on this machine (daemon down, no image, no /dev/kvm...)."""


class NotApplicable(TriptychError):
    """A workload has no meaning on a platform (e.g. startup time of the host itself)."""


class CommandFailed(TriptychError):
    """A tool exited non-zero or timed out; carries its argv, exit code and stderr."""

    def __init__(
        self, argv: list[str], returncode: int, stdout: str, stderr: str, where: str
    ) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.where = where
        tail = stderr.strip().splitlines()[-1] if stderr.strip() else "(no stderr)"
        super().__init__(f"{argv[0]} failed on {where} with exit code {returncode}: {tail}")


class CommandTimeout(CommandFailed):
    """A tool did not finish within its timeout and was killed."""

    def __init__(
        self, argv: list[str], timeout: float, stdout: str, stderr: str, where: str
    ) -> None:
        super().__init__(argv, -9, stdout, stderr, where)
        self.timeout = timeout
        self.args = (f"{argv[0]} on {where} did not finish within {timeout:g} s and was killed",)


class ParseError(TriptychError):
    """A tool printed output its parser cannot read; keeps the raw output for the run's log."""

    def __init__(self, tool: str, reason: str, raw: str) -> None:
        self.tool = tool
        self.raw = raw
        super().__init__(f"cannot read {tool} output: {reason}")


class JournalError(TriptychError):
    """The run journal cannot be written: nothing further could be kept, so the run stops."""
