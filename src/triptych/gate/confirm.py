"""Confirmation before failing: a night's suspected regressions are decided the same night by a
rerun of just their cases (a new pytest session: fresh containers, guests, files and servers).

The gate that suspects them names their cases in a file (`--flagged FILE`, one case per line);
the nightly job reruns those cases (`pytest bench/ --triptych-cases=...`) and gates the rerun
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
from triptych.gate.compare import Change, Key, Sides
from triptych.gate.memory import History, open_now
from triptych.gate.record import Regression
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
    suspected case, confirms nothing: one line."""
    flagged = suspected(regressions, history)
    if not flagged:
        raise TriptychError(
            "--confirming: no suspected regression of record in this environment and scenario, "
            "so there is nothing to confirm; gate the run without --confirming"
        )
    if any(newest in r.nights for r in flagged):
        raise TriptychError(
            f"--confirming: the newest run ({newest}) is the night that flagged the suspected "
            "regressions, not a rerun of them; save the rerun first (`pytest bench/ "
            "--triptych-cases=...`)"
        )
    rerun = {key[0] for key in sides.cur}
    lacking = sorted({r.case for r in flagged} - rerun)
    if lacking:
        raise TriptychError(
            f"--confirming: the newest run ({newest}) has no figures of the suspected case(s) "
            f"{', '.join(lacking)}; rerun them with --triptych-cases={','.join(lacking)}"
        )
    return frozenset(r.key for r in flagged)


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


def flagged_cases(regressions: list[Regression], history: History) -> list[str]:
    """The cases a rerun should measure: those of the suspected regressions (names the
    scenario format allows only; the plugin checks them against the scenario again)."""
    return sorted({r.case for r in suspected(regressions, history) if NAME.fullmatch(r.case)})


def check_flagged(path: Path) -> Path:
    """The flagged file's directory, if it is provably ours (checked before the gate writes
    anything, and again as it writes)."""
    return check_dir(path.parent, "the directory of the flagged cases")


def write_flagged(path: Path, cases: list[str]) -> None:
    """The cases to rerun, one per line, written atomically into a directory that is provably
    ours; none to rerun removes the file (a stale one would rerun last night's)."""
    folder = check_flagged(path)
    if not cases:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    data = "".join(f"{c}\n" for c in cases).encode()
    replace_atomically(folder, path, data, ".tmp-flagged-")
