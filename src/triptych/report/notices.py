"""The warnings above a report's figures: what about the machine, the data and the builds
changes what the figures mean (a Group's notices, from analysis)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from triptych.quiet import BUSY_SHARE
from triptych.report.model import Group, Notice
from triptych.verdict.effect import UNTESTABLE
from triptych.verdict.nested import DEFAULT, HISTORY, family_default
from triptych.verdict.noise_model import MIN_RUNS, WINDOW
from triptych.workloads.placement import APART_FROM

CV_WARN = 0.10
FEW_ROUNDS = 4


def builds(platforms: dict[str, dict[str, Any]]) -> list[Notice]:
    """Tools whose build differs between the platforms of one run."""
    seen: dict[str, dict[str, str]] = {}
    for name, meta in platforms.items():
        for key, value in meta.items():
            if key.startswith("tool_"):
                seen.setdefault(key.removeprefix("tool_"), {})[name] = str(value)
    differ = {tool: by for tool, by in sorted(seen.items()) if len(set(by.values())) > 1}
    if not differ:
        return []
    text = "; ".join(
        f"{tool}: " + ", ".join(f"{p} '{v}'" for p, v in sorted(by.items()))
        for tool, by in differ.items()
    )
    return [
        Notice(
            f"Platforms of this run used different builds of a tool ({text}): their figures "
            "compare the builds as well as the platforms.",
            loud=True,
        )
    ]


def _machine_notices(g: Group, machine: dict[str, Any]) -> list[Notice]:
    """What about the machine changes what the figures mean."""
    out = []
    emulated = sorted({c.platform for c in g.columns.values() if c.emulated})
    if emulated:
        out.append(
            Notice(
                f"{', '.join(emulated)} rows were measured under TCG software emulation, not "
                "KVM: they show the cost of emulation, not of hardware virtualisation "
                "(the saved metadata's acceleration_reason says why).",
                loud=True,
            )
        )
    governor = machine.get("cpu_governor", "unknown")
    if governor not in ("performance",):
        out.append(
            Notice(
                f"CPU frequency governor is '{governor}', not 'performance': clock speed "
                "may vary between rounds."
            )
        )
    # Runs that record the layers apart say which is a hypervisor; older ones only the innermost.
    virt = machine.get("virt_vm", machine.get("host_virtualization", "unknown"))
    if virt not in ("none",):
        out.append(
            Notice(
                f"The 'host' itself runs under virtualisation ({virt}): host figures are "
                "not bare metal."
            )
        )
    return out


def borrowed_notice(g: Group) -> str:
    """Which intervals borrow a set-up variance (one set-up a side), and from where: the
    machine's own history (verdict/noise_model.py) or the family's documented default."""
    cells = [(r.family, c.borrowed) for r in g.rows for c in r.cells.values() if c.borrowed]
    if not cells:
        return ""
    own = sum(1 for _, source in cells if source == HISTORY)
    families = sorted({f for f, source in cells if source == DEFAULT})
    said = []
    if own:
        said.append(
            f"{own} of {len(cells)} intervals include the spread this machine's own earlier "
            f"runs of this scenario showed for the same metric and column ({g.noise_runs} "
            f"run(s), the newest {WINDOW} at most; each spread from at least {MIN_RUNS} "
            "distinct runs)"
        )
    if families:
        shown = ", ".join(f"{f} {family_default(f).sd:.0%}" for f in families)
        said.append(
            ("the others include" if own else "each interval includes")
            + f" the set-up variance of its family's documented default ({shown}: the largest "
            "run-to-run or set-up spread measured among the family's metrics on our machines)"
        )
    return (
        "One set-up per platform (one container, guest, file and server each): a fresh one "
        "would differ by more than its rounds show, so "
        + "; ".join(said)
        + ". Measure it instead with scenario.setups = 3."
    )


def _data_notices(g: Group, df: pd.DataFrame) -> list[Notice]:
    """What about the samples limits what can be concluded from them."""
    out = []
    noisy = sorted(
        {
            f"{r.case} / {c.label}"
            for r in g.rows
            for c in [*r.cells.values(), r.host]
            if c is not None and c.cv > CV_WARN
        }
    )
    if noisy:
        out.append(
            Notice(
                f"High spread (coefficient of variation over {CV_WARN:.0%}) in: "
                + ", ".join(noisy[:12])
                + (" ..." if len(noisy) > 12 else "")
            )
        )
    borrowed = borrowed_notice(g)
    if borrowed:
        out.append(Notice(borrowed))
    few = {
        c.n for r in g.rows for c in r.cells.values() if c.effect and c.effect.verdict == UNTESTABLE
    }
    if few:
        out.append(
            Notice(
                f"Only {min(few)} round(s) per case in places: too few to test (use "
                f"{FEW_ROUNDS} or more rounds; 2 is the least a spread can be measured from)."
            )
        )
    latest = df[df.run == g.latest]
    if (latest.placement == "shared").any():
        cases = sorted({str(c) for c in latest[latest.placement == "shared"].case})
        out.append(
            Notice(
                f"Client and server ({', '.join(cases)}): the client on the host shared the "
                f"machine's CPUs with the server (fewer than {APART_FROM} CPUs: not pinned "
                "apart), on every platform alike. Their figures include that contention; a "
                f"machine with {APART_FROM} or more CPUs keeps client and server apart."
            )
        )
    busy = _busy_rounds(latest)
    if busy:
        out.append(Notice(busy, loud=True))
    return out


def _busy_rounds(run: pd.DataFrame) -> str:
    """Rounds during which processes outside the run used the machine (quiet.py)."""
    rounds = run.groupby(["case", "label", "round"], observed=True).foreign_cpu.max().dropna()
    busy = rounds[rounds > BUSY_SHARE]
    if busy.empty:
        return ""
    where: tuple[str, str, int] = busy.idxmax()  # type: ignore[assignment]
    return (
        f"Not a quiet machine: in {busy.size} of {rounds.size} rounds, processes outside the "
        f"run used more than {BUSY_SHARE:.0%} of the CPU (up to {busy.max():.0%}, in "
        f"{where[0]} / {where[1]}). Those figures may be disturbed: measure on a quiet machine."
    )


def warnings_for(g: Group, df: pd.DataFrame, machines: dict[str, dict[str, Any]]) -> list[Notice]:
    machine = machines.get(g.latest, {}).get("triptych", {})
    return _machine_notices(g, machine) + _data_notices(g, df)
