"""The gate's summary in Markdown (GitHub's, in a step summary): what it found, the open
regressions of record, the steps over the series, and what it could have caught; every string
we did not write escaped (md)."""

from __future__ import annotations

import math
import re

from triptych import families
from triptych.gate.compare import Change
from triptych.gate.series_power import NOT_YET
from triptych.validate import CONTROL
from triptych.verdict.effect import describe

# What Markdown (GitHub's, in a step summary) would read as markup or HTML, and its escape.
_MARKUP = {c: f"\\{c}" for c in "\\`*_[]|#!~"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_CONTROL = re.compile(CONTROL.pattern + "+")  # a run of them: one space


def md(text: object) -> str:
    """A string we did not write (a case, metric or run name, a path, a warning), safe in a
    Markdown table cell or line: on one line, every markup character and HTML escaped. Each line
    the gate prints starts with its own text, so none can start a workflow command (`::`)."""
    one_line = _CONTROL.sub(" ", str(text))
    return "".join(_MARKUP.get(ch, ch) for ch in one_line)


SHOWN_UP_TO = 100.0  # a detectable step beyond this is shown as ">= 100x"


def could_have_caught(found: list[Change]) -> str:
    """Per family, the smallest regression this comparison would have caught 80% of the time
    (at the strictest rank of its family-wise test, this night's noise): median and range over
    the family's metrics, in report order."""
    return per_family([(c.family, c.effect.detectable) for c in found])


def per_family(figures: list[tuple[str, float]]) -> str:
    """Steps per family (a cost, > 1 worse) as the summary gives them: median and range over the
    family's metrics, in report order; metrics with no finite figure left out."""

    def shown(x: float) -> str:
        return f">= {SHOWN_UP_TO:.0f}x" if x >= SHOWN_UP_TO else f"{x:.2f}x"

    return "; ".join(
        f"{md(r.family)} {shown(r.median)} ({shown(r.low)} to {shown(r.high)})"
        for r in families.ranges(figures)
    )


def _table(title: str, rows: list[Change]) -> list[str]:
    if not rows:
        return []
    lines = [
        "",
        f"### {title}",
        "",
        "| case | metric | platform | baseline | current | effect | margin | decided on |",
        "|---|---|---|---:|---:|---|---:|---:|",
    ]
    for c in sorted(rows, key=lambda c: -abs(math.log(c.effect.cost))):
        lines.append(
            f"| {md(c.case)} | {md(c.metric)} | {md(c.platform)} | "
            f"{c.baseline:.4g} {md(c.unit)} | {c.current:.4g} {md(c.unit)} | "
            f"{md(describe(c.effect))} | {c.margin:.0%} | {c.basis} |"
        )
    return lines


def _listed(title: str, items: list[str] | None) -> list[str]:
    """A titled list of lines we did not all write (escaped), or nothing."""
    return ["", f"### {title}", "", *(f"- {md(x)}" for x in items)] if items else []


def _series_line(series_caught: str | None) -> list[str]:
    """What the series test could catch within three nights (None: not a nightly gate)."""
    if series_caught is None:
        return []
    return [
        "",
        "**What the series test could catch within 3 nights** (the smallest step caught 80% "
        "of the time at each metric's own night-to-night noise, Gaussian nights, and at "
        "least its threshold; per family, median and range): "
        + (series_caught or f"nothing yet: {NOT_YET}")
        + ".",
    ]


def markdown(
    found: list[Change],
    baseline: str,
    current: str,
    notes: list[str],
    of_record: list[str] | None = None,
    steps: list[str] | None = None,
    series_caught: str | None = None,
) -> str:
    """The gate's summary; `of_record`: the open regressions of record, one line each; `steps`:
    the worse steps found over the nightly series tonight; `series_caught`: what the series test
    could catch within three nights, per family (per_family)."""
    regressions = [c for c in found if c.regression]
    improvements = [c for c in found if c.improvement]
    lines = [f"## triptych compare: {md(baseline)} -> {md(current)}", ""]
    lines += [*(f"> **Note:** {md(n)}" for n in notes), ""]
    lines.append(
        f"**{len(regressions)} regression(s)**, {len(improvements)} improvement(s) "
        f"of {len(found)} metrics compared (family-wise error 5%)."
    )
    caught = could_have_caught(found)
    if caught:
        lines += [
            "",
            "**What it could have caught** (the smallest regression caught 80% of the time at "
            f"this comparison's noise; per family, median and range over its metrics): {caught}.",
        ]
    lines += _series_line(series_caught)
    lines += _listed(
        f"Steps over the nightly series ({len(steps or [])}): worse from a night on, "
        "family-wise error 5% over the primary metrics",
        steps,
    )
    lines += _listed(
        f"Open regressions of record ({len(of_record or [])}): a confirmed one fails the gate "
        "until it is accepted (`triptych accept`) or reverts; a suspected one leaves it "
        "undecided",
        of_record,
    )
    for title, rows in (("Regressions", regressions), ("Improvements", improvements)):
        lines += _table(title, rows)
    return "\n".join(lines) + "\n"
