"""The inline charts on their own: scale, clipping, degenerate inputs, escaping."""

from __future__ import annotations

import re

import pytest

from triptych.report.svg import Bar, bar_chart, strip_plot, trend_chart


def _bar_widths(svg: str) -> list[float]:
    return [
        float(w) for w in re.findall(r'<rect class="bar" x="[^"]+" y="[^"]+" width="([^"]+)"', svg)
    ]


def test_bars_scale_to_the_largest_change_and_clip_at_500_percent() -> None:
    svg = bar_chart(
        [
            Bar("half", 0.5, 0.4, 0.6, True, True),
            Bar("one", 1.0, 0.9, 1.1, True, True),
        ],
        "t",
    )
    half, one = _bar_widths(svg)
    # The scale's edge is the largest CI end (+110%), at half the 360-pixel plot.
    assert one == pytest.approx(180 * 1.0 / 1.1, abs=0.1)
    assert half == pytest.approx(180 * 0.5 / 1.1, abs=0.1)
    clipped = _bar_widths(bar_chart([Bar("huge", 686.5, 600.0, 700.0, True, True)], "t"))[0]
    assert clipped == 180.0  # half the plot width: the +500% edge
    assert "+68650.0%" in bar_chart([Bar("huge", 686.5, 600.0, 700.0, True, True)], "t")


def test_colour_says_significance_and_direction() -> None:
    worse, better, ns = (
        bar_chart([Bar("a", c, c - 0.1, c + 0.1, w, s)], "t")
        for c, w, s in ((0.3, True, True), (-0.3, False, True), (0.3, True, False))
    )
    assert 'fill="#d9534f"' in worse
    assert 'fill="#3c9d5d"' in better
    assert 'fill="#9e9e9e"' in ns


def test_degenerate_inputs_draw_nothing_or_something_sane() -> None:
    assert bar_chart([], "t") == ""
    assert strip_plot([("host", [])], "t", "s") == ""
    same = strip_plot([("host", [5.0, 5.0])], "t", "s")  # zero range: no division by zero
    assert same.count("<circle") == 2
    assert trend_chart({"vm": [("r1", 1.2)]}, ["r1"], {}, "t") == ""  # one run: no trend


def test_text_and_attributes_are_escaped() -> None:
    svg = strip_plot([('x" onload="y', [1.0])], '<b>"t"</b>', "u&")
    assert 'onload="y' not in svg
    for escaped in ("&#34;", "&lt;b&gt;", "u&amp;"):
        assert escaped in svg
