"""Small inline SVG charts: the report is one self-contained file, no scripts, no network."""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

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


@dataclass(frozen=True)
class Bar:
    label: str
    change: float  # ratio - 1
    low: float  # CI of the ratio, minus 1
    high: float
    worse: bool
    significant: bool


def _pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def bar_chart(bars: list[Bar], title: str) -> str:
    """Horizontal bars of change against host, CI whiskers; colour by direction if significant."""
    if not bars:
        return ""
    row, left, width = 18, 440, 360
    finite = [v for b in bars for v in (b.change, b.low, b.high) if math.isfinite(v)]
    span = max(0.05, *(abs(v) for v in finite)) if finite else 1.0
    span = min(span, 5.0)

    def x(v: float) -> float:
        v = max(-span, min(span, v))
        return left + width / 2 + v / span * (width / 2)

    height = row * len(bars) + 40
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{left + width + 80}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{x(0)}" y1="20" x2="{x(0)}" y2="{height - 18}" stroke="#444"/>',
        f'<text x="{x(-span)}" y="{height - 4}" font-size="10">{_pct(-span)}</text>',
        f'<text x="{x(span) - 30}" y="{height - 4}" font-size="10">{_pct(span)}</text>',
        f'<text x="{left}" y="12" font-size="11" font-weight="bold">{escape(title)}</text>',
    ]
    for i, b in enumerate(bars):
        y = 22 + i * row
        colour = (WORSE if b.worse else BETTER) if b.significant else NEUTRAL
        x0, x1 = sorted((x(0), x(b.change)))
        out.append(
            f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
            f"{escape(b.label)}</text>"
        )
        out.append(
            f'<rect class="bar" x="{x0:.1f}" y="{y + 2}" width="{max(1.0, x1 - x0):.1f}" '
            f'height="{row - 6}" fill="{colour}"><title>{escape(b.label)}: '
            f"{_pct(b.change)} (CI {_pct(b.low)}..{_pct(b.high)})</title></rect>"
        )
        if math.isfinite(b.low) and math.isfinite(b.high):
            yc = y + row / 2 - 1
            out.append(
                f'<line class="ci" x1="{x(b.low):.1f}" y1="{yc}" x2="{x(b.high):.1f}" '
                f'y2="{yc}" stroke="#222"/>'
            )
        out.append(
            f'<text x="{left + width + 6}" y="{y + 12}" font-size="10">{_pct(b.change)}</text>'
        )
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
        f'<svg class="chart dist" role="img" aria-label="{escape(title)}" width="{left + width + 20}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="12" font-size="11" font-weight="bold">{escape(title)}</text>',
        f'<text x="{left}" y="{height - 4}" font-size="10">{lo:.4g} {escape(unit)}</text>',
        f'<text x="{left + width - 60}" y="{height - 4}" font-size="10">{hi:.4g} {escape(unit)}</text>',
    ]
    for i, (label, vs) in enumerate(groups):
        y = 22 + i * row
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<text x="{left - 6}" y="{y + 10}" font-size="11" text-anchor="end">{escape(label)}</text>'
        )
        out.extend(
            f'<circle cx="{x(v):.1f}" cy="{y + 6}" r="3" fill="{colour}" fill-opacity="0.7">'
            f"<title>{v:.4g}</title></circle>"
            for v in vs
            if math.isfinite(v)
        )
    out.append("</svg>")
    return "".join(out)


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
        f'<svg class="chart trend" role="img" aria-label="{escape(title)}" width="{left + width + 200}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="12" font-size="11" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{y(1):.1f}" x2="{left + width}" y2="{y(1):.1f}" stroke="#999" stroke-dasharray="3,3"/>',
        f'<text x="4" y="{y(hi) + 4:.1f}" font-size="10">{hi:.2f}x</text>',
        f'<text x="4" y="{y(lo) + 4:.1f}" font-size="10">{lo:.2f}x</text>',
        f'<text x="{left}" y="{height - 4}" font-size="10">{escape(dates.get(runs[0], "")[:10])}</text>',
        f'<text x="{left + width - 60}" y="{height - 4}" font-size="10">{escape(dates.get(runs[-1], "")[:10])}</text>',
    ]
    for i, (label, pts) in enumerate(sorted(series.items())):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{x(r):.1f},{y(v):.1f}" for r, v in pts if math.isfinite(v))
        out.append(
            f'<polyline class="line" fill="none" stroke="{colour}" stroke-width="1.5" points="{path}">'
            f"<title>{escape(label)}</title></polyline>"
        )
        out.append(
            f'<text x="{left + width + 8}" y="{top + 14 * i + 10}" font-size="11" fill="{colour}">'
            f"{escape(label)}</text>"
        )
    out.append("</svg>")
    return "".join(out)
