"""The inline charts on their own: a log axis of cost, clipping, degenerate inputs, escaping."""

from __future__ import annotations

import re

import pytest

from triptych.report.svg import Bar, bar_chart, strip_plot, trend_chart


def _bars(svg: str) -> list[tuple[float, float]]:
    """(x, width) of each bar."""
    found = re.findall(r'<rect class="bar" x="([^"]+)" y="[^"]+" width="([^"]+)"', svg)
    return [(float(x), float(w)) for x, w in found]


def test_a_log_axis_draws_2x_slower_and_2x_faster_equally_long() -> None:
    svg = bar_chart(
        [Bar("slow", 2.0, 1.9, 2.1, "slower"), Bar("fast", 0.5, 0.48, 0.52, "faster")], "t"
    )
    (slow_x, slow_w), (fast_x, fast_w) = _bars(svg)
    assert slow_w == pytest.approx(fast_w, abs=0.2)
    assert fast_x + fast_w == pytest.approx(slow_x, abs=0.2)  # on either side of parity
    assert "2.00x slower" in svg
    assert "2.00x faster" in svg


def test_costs_beyond_64x_reach_the_edge() -> None:
    svg = bar_chart([Bar("huge", 500.0, 400.0, 600.0, "slower")], "t")
    ((_, width),) = _bars(svg)
    assert width == pytest.approx(180.0)  # half the 360-pixel plot: the edge
    assert "500.00x slower" in svg  # the figure itself is not clipped


def test_colour_is_for_findings_only() -> None:
    slower, faster, same, unknown = (
        bar_chart([Bar("a", c, c * 0.9, c * 1.1, v)], "t")
        for c, v in ((1.3, "slower"), (0.7, "faster"), (1.01, "same"), (1.3, "undetermined"))
    )
    assert 'fill="#d9534f"' in slower
    assert 'fill="#3c9d5d"' in faster
    assert 'fill="#9e9e9e"' in same
    assert 'fill="#9e9e9e"' in unknown


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
