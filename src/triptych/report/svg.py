"""Small inline SVG charts: the report is one self-contained file, no scripts, no network.

Every element is written through `_el()`, which escapes each value it interpolates (quotes
included): labels come from saved runs, and saved runs (scenario files in pull requests, runs
shared as CI artefacts) are not ours to trust.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import escape

from triptych.verdict.effect import factor, span

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
WORSE, BETTER, NEUTRAL = "#d9534f", "#3c9d5d", "#9e9e9e"
MAX_LOG2 = 6.0  # the axis ends at 64x either way; larger costs reach its edge
SVG_NS = "http://www.w3.org/2000/svg"


def _el(template: str, *values: object) -> str:
    """One piece of markup: `template` is ours, every value is escaped into it (numbers are
    numbers: only they may carry a format spec like {:.1f})."""
    return template.format(*(v if _number(v) else escape(v) for v in values))


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _svg(css: str, title: str, width: float, height: float) -> str:
    return _el(
        '<svg class="{}" role="img" aria-label="{}" width="{}" height="{}" xmlns="{}">',
        css,
        title,
        width,
        height,
        SVG_NS,
    )


def _text(x: float, y: float, text: str, size: int = 10, extra: str = "") -> str:
    """A text element; `extra` is one of our fixed attribute strings, never data."""
    return _el(
        '<text x="{:.1f}" y="{:.1f}" font-size="{}"' + extra + ">{}</text>", x, y, size, text
    )


@dataclass(frozen=True)
class Bar:
    """One comparison: its cost against the baseline (> 1 costs more), interval and verdict."""

    label: str
    cost: float
    low: float
    high: float
    verdict: str  # only "slower" and "faster" are coloured


def _log2(v: float) -> float:
    return math.log2(v) if math.isfinite(v) and v > 0 else 0.0


def _bar(
    b: Bar, y: float, row: int, left: float, right: float, x: Callable[[float], float]
) -> list[str]:
    """One bar: its label, the bar (with its figures as a tooltip), the CI whisker, the value."""
    colour = {"slower": WORSE, "faster": BETTER}.get(b.verdict, NEUTRAL)
    x0, x1 = sorted((x(1.0), x(b.cost)))
    out = [
        _text(left - 6, y + 12, b.label, 11, ' text-anchor="end"'),
        _el(
            '<rect class="bar" x="{:.1f}" y="{}" width="{:.1f}" height="{}" fill="{}">'
            "<title>{}: {} ({}; interval {})</title></rect>",
            x0,
            y + 2,
            max(1.0, x1 - x0),
            row - 6,
            colour,
            b.label,
            factor(b.cost),
            b.verdict,
            span(b.low, b.high),
        ),
    ]
    if math.isfinite(b.low) and math.isfinite(b.high):
        yc = y + row / 2 - 1
        out.append(
            _el(
                '<line class="ci" x1="{:.1f}" y1="{}" x2="{:.1f}" y2="{}" stroke="#222"/>',
                x(b.low),
                yc,
                x(b.high),
                yc,
            )
        )
    out.append(_text(right + 6, y + 12, factor(b.cost)))
    return out


def bar_chart(bars: list[Bar], title: str) -> str:
    """Horizontal bars of cost against host on a log axis (2x slower and 2x faster are equally
    long), interval whiskers; coloured only where the verdict is a finding."""
    if not bars:
        return ""
    row, left, width = 18, 440, 360
    ends = [abs(_log2(v)) for b in bars for v in (b.cost, b.low, b.high)]
    reach = min(max(0.1, *ends), MAX_LOG2)  # in doublings either way

    def x(v: float) -> float:
        lv = max(-reach, min(reach, _log2(v)))
        return left + width / 2 + lv / reach * (width / 2)

    height = row * len(bars) + 40
    out = [
        _svg("chart", title, left + width + 100, height),
        _el('<line x1="{}" y1="20" x2="{}" y2="{}" stroke="#444"/>', x(1), x(1), height - 18),
        _text(x(2**-reach), height - 4, factor(2**-reach)),
        _text(x(2**reach) - 60, height - 4, factor(2**reach)),
        _text(left, 12, title, 11, ' font-weight="bold"'),
    ]
    for i, b in enumerate(bars):
        out.extend(_bar(b, 22 + i * row, row, left, left + width, x))
    out.append("</svg>")
    return "".join(out)


def strip_plot(groups: list[tuple[str, list[float]]], title: str, unit: str) -> str:
    """Every round's value per platform: the distribution behind each median."""
    values = [v for _, vs in groups for v in vs if math.isfinite(v)]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo * 0.9 - 1e-9, hi * 1.1 + 1e-9
    row, left, width = 16, 220, 360
    height = row * len(groups) + 36

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * width

    out = [
        _svg("chart dist", title, left + width + 20, height),
        _text(left, 12, title, 11, ' font-weight="bold"'),
        _text(left, height - 4, f"{lo:.4g} {unit}"),
        _text(left + width - 60, height - 4, f"{hi:.4g} {unit}"),
    ]
    for i, (label, vs) in enumerate(groups):
        y = 22 + i * row
        colour = PALETTE[i % len(PALETTE)]
        out.append(_text(left - 6, y + 10, label, 11, ' text-anchor="end"'))
        out.extend(
            _el(
                '<circle cx="{:.1f}" cy="{}" r="3" fill="{}" fill-opacity="0.7">'
                "<title>{:.4g}</title></circle>",
                x(v),
                y + 6,
                colour,
                v,
            )
            for v in vs
            if math.isfinite(v)
        )
    out.append("</svg>")
    return "".join(out)


def _lines(
    series: dict[str, list[tuple[str, float]]],
    x: Callable[[str], float],
    y: Callable[[float], float],
    legend_x: float,
    top: float,
) -> list[str]:
    """One polyline per platform, and its name in the legend, in the same colour."""
    out = []
    for i, (label, pts) in enumerate(sorted(series.items())):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{x(r):.1f},{y(v):.1f}" for r, v in pts if math.isfinite(v))
        out.append(
            _el(
                '<polyline class="line" fill="none" stroke="{}" stroke-width="1.5" points="{}">'
                "<title>{}</title></polyline>",
                colour,
                path,
                label,
            )
        )
        out.append(
            _el(
                '<text x="{}" y="{}" font-size="11" fill="{}">{}</text>',
                legend_x,
                top + 14 * i + 10,
                colour,
                label,
            )
        )
    return out


def trend_chart(
    series: dict[str, list[tuple[str, float]]], runs: list[str], dates: dict[str, str], title: str
) -> str:
    """Cost against host over runs (nightly history), one line per platform."""
    values = [v for pts in series.values() for _, v in pts if math.isfinite(v)]
    if not values or len(runs) < 2:
        return ""
    lo, hi = min(1.0, *values), max(1.0, *values)
    if hi - lo < 1e-9:
        hi = lo + 0.1
    left, width, height, top = 50, 560, 180, 20
    index = {r: i for i, r in enumerate(runs)}

    def x(r: str) -> float:
        return left + index[r] / (len(runs) - 1) * width

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (height - top - 30)

    out = [
        _svg("chart trend", title, left + width + 200, height),
        _text(left, 12, title, 11, ' font-weight="bold"'),
        _el(
            '<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#999" stroke-dasharray="3,3"/>',
            left,
            y(1),
            left + width,
            y(1),
        ),
        _text(4, y(hi) + 4, f"{hi:.2f}x"),
        _text(4, y(lo) + 4, f"{lo:.2f}x"),
        _text(left, height - 4, dates.get(runs[0], "")[:10]),
        _text(left + width - 60, height - 4, dates.get(runs[-1], "")[:10]),
    ]
    out.extend(_lines(series, x, y, left + width + 8, top))
    out.append("</svg>")
    return "".join(out)


def sweep_chart(
    series: dict[str, list[tuple[float, float]]], title: str, unit: str, x_name: str
) -> str:
    """A metric against a swept parameter (connections), one line per platform: x on a log2
    scale (1, 8, 32 spread evenly), y from zero."""
    points = [p for pts in series.values() for p in pts if math.isfinite(p[1]) and p[0] > 0]
    if not points:
        return ""
    xs = sorted({x for x, _ in points})
    top_v = max(y for _, y in points) or 1.0
    left, width, height, top = 70, 480, 200, 20
    lo, hi = math.log2(xs[0]), math.log2(xs[-1]) if len(xs) > 1 else math.log2(xs[0]) + 1

    def x(key: str) -> float:
        return left + (math.log2(float(key)) - lo) / (hi - lo) * width

    def y(v: float) -> float:
        return top + (1 - v / top_v) * (height - top - 30)

    out = [
        _svg("chart sweep", title, left + width + 220, height),
        _text(left, 12, title, 11, ' font-weight="bold"'),
        _text(4, y(top_v) + 4, f"{top_v:.4g} {unit}"),
        _text(4, y(0) + 4, f"0 {unit}"),
    ]
    out.extend(_text(x(f"{v:g}") - 4, height - 14, f"{v:g}") for v in xs)
    out.append(_text(left + width / 2 - 30, height - 2, x_name))
    as_text = {label: [(f"{a:g}", b) for a, b in sorted(pts)] for label, pts in series.items()}
    out.extend(_lines(as_text, x, y, left + width + 8, top))
    out.append("</svg>")
    return "".join(out)
