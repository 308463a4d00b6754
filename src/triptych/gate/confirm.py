"""Confirmation before failing: a night's suspected regressions are decided the same night by a
rerun of just their cases on just their platforms (a new pytest session: fresh containers,
guests, files and servers; a container's regression boots no guest, a guest's starts no
container).

The gate that suspects them names them in a file (`--flagged FILE`, one "case platform" per
line); the nightly job reruns them (`pytest bench/ --triptych-cases=... --triptych-platforms=...`:
every flagged case on every flagged platform, a superset where several are) and gates the rerun
with `--confirming`: only the suspected metrics are compared, each against the same baseline
as the night that flagged it (that night itself is out of it, as every regressed night is).
The rerun regresses again: confirmed, the gate fails. Back within the margin: reverted. Neither:
still suspected, and the next night decides.

The error rate: a regression fails only when the night flagged it and the rerun flags it again.
A rerun re-draws the set-up and the rounds, not the night: what a whole night shares (the
kernel's state since boot, a neighbour busy all night) comes back in the rerun, so a rerun
decides only the metrics it re-draws at least half the run-to-run variance of
(stats.rerun_redraws); the rest stay suspected for the next night. Simulated (test_gate_sim):
0.1-1.4% of unchanged nights fail through a rerun with Gaussian to t(3) effects.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from triptych.errors import TriptychError
from triptych.gate.compare import Change, Sides
from triptych.gate.memory import History, open_now
from triptych.gate.metric_series import Key
from triptych.gate.record import Regression
from triptych.platforms.catalog import KINDS
from triptych.private_path import check_dir, replace_atomically
from triptych.validate import NAME


def suspected(regressions: list[Regression], history: History) -> list[Regression]:
    """This history's open regressions that no second night (or rerun) has confirmed yet."""
    return [r for r in open_now(regressions, history) if not r.confirmed]


def confirming_keys(
    sides: Sides, regressions: list[Regression], history: History, newest: str
) -> frozenset[Key]:
    """The metrics a rerun decides: those of the suspected regressions (the Holm family is
    theirs alone; every baseline metric still informs the moderated variances, as on the
    night that flagged them). A rerun that is the suspected night itself, or that lacks a
    suspected case on its platform, confirms nothing: one line."""
    pending = suspected(regressions, history)
    if not pending:
        raise TriptychError(
            "--confirming: no suspected regression of record in this environment and scenario, "
            "so there is nothing to confirm; gate the run without --confirming"
        )
    if any(newest in r.nights for r in pending):
        raise TriptychError(
            f"--confirming: the newest run ({newest}) is the night that flagged the suspected "
            "regressions, not a rerun of them; save the rerun first (`pytest bench/ "
            "--triptych-cases=...`)"
        )
    rerun = {(key[0], key[2]) for key in sides.cur}
    lacking = sorted({(r.case, r.platform) for r in pending} - rerun)
    if lacking:
        cases = sorted({case for case, _ in lacking})
        platforms = sorted({p for _, label in lacking if (p := platform_of(label))})
        fix = f"--triptych-cases={','.join(cases)}"
        if platforms:
            fix += f" --triptych-platforms={','.join(platforms)}"
        raise TriptychError(
            f"--confirming: the newest run ({newest}) has no figures of the suspected case(s) "
            f"{shown(lacking)}; rerun them with {fix}"
        )
    return frozenset(r.key for r in pending)


def undecided_note(suspected: frozenset[Key], found: list[Change]) -> str:
    """What the rerun decided, and what it left to the next night: a suspected metric whose
    run-to-run variance is mostly its night's, or may be (under emulation, or where unmeasured:
    stats.rerun_redraws), is not decided by a rerun the same night."""
    decided = {(c.case, c.metric, c.platform) for c in found}
    left = sorted(suspected - decided)
    text = f"the rerun decided {len(decided)} of {len(suspected)} suspected metric(s)"
    if not left:
        return text
    shown = "; ".join(" / ".join(k) for k in left[:5]) + ("; ..." if len(left) > 5 else "")
    return (
        f"{text}; left to the next night, as a rerun the same night re-draws too little of "
        "their spread (what a night shares is over half their run-to-run variance, or unknown: "
        f"under emulation, or not measured): {shown}"
    )


def platform_of(label: str) -> str:
    """The platform of a column label ("docker-bridge (published)", "vm [TCG emulation]"): its
    first word, if that is a platform the suite has ("" if not)."""
    first = label.split(" ", 1)[0]
    return first if first in KINDS else ""


def flagged(regressions: list[Regression], history: History) -> list[tuple[str, str]]:
    """What a rerun should measure: each suspected regression's case and platform (case names
    the scenario format allows and platforms the suite has only; the plugin checks both
    against the scenario again)."""
    return sorted(
        {
            (r.case, platform)
            for r in suspected(regressions, history)
            if NAME.fullmatch(r.case) and (platform := platform_of(r.platform))
        }
    )


def shown(pairs: list[tuple[str, str]]) -> str:
    """The flagged pairs as a reader reads them."""
    return ", ".join(f"{case} on {platform}" for case, platform in pairs)


def check_flagged(path: Path) -> Path:
    """The flagged file's directory, if it is provably ours (checked before the gate writes
    anything, and again as it writes)."""
    return check_dir(path.parent, "the directory of the flagged cases")


def write_flagged(path: Path, pairs: list[tuple[str, str]]) -> None:
    """The cases to rerun and their platforms, "case platform" a line, written atomically into
    a directory that is provably ours; none to rerun removes the file (a stale one would rerun
    last night's)."""
    folder = check_flagged(path)
    if not pairs:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    data = "".join(f"{case} {platform}\n" for case, platform in pairs).encode()
    replace_atomically(folder, path, data, ".tmp-flagged-")
