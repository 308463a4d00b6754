"""The report, rendered from a real saved run of the suite, opened in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from html import unescape as html_unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.synthetic import noisy, write_run
from triptych.cli import main

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,2400",
]


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: scripts/install.sh installs it", pytrace=False)
    return path


def in_chromium(page: Path, tmp_path: Path, what: list[str]) -> str:
    argv = [
        chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        *what,
        page.as_uri(),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout


def rendered_table(run: Path, tmp_path: Path, css: str) -> str:
    """The report of `run` as headless Chromium builds it: the inside of its table of class
    `css` (the test fails if the report has none)."""
    out = tmp_path / "index.html"
    assert main(["report", str(run), "-o", str(out)]) == 0
    dom = in_chromium(out, tmp_path, ["--dump-dom"])
    table = re.search(rf'<table class="{css}">(.*?)</table>', dom, re.S)
    assert table is not None, f"no table of class {css}"
    return table.group(1)


def test_real_run_renders_in_chromium(
    tmp_path: Path, real_run: Path, record_property: Callable[[str, object], None]
) -> None:
    out = tmp_path / "index.html"
    assert main(["report", str(real_run), "-o", str(out)]) == 0
    html = out.read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained
    assert "<script" not in html
    dom = in_chromium(out, tmp_path, ["--dump-dom"])
    summary = re.search(r'<table id="summary">(.*?)</table>', dom, re.S)
    assert summary is not None
    header = re.findall(r"<th>([^<]+)</th>", summary.group(1))
    for platform in (
        "docker-host",
        "docker-bridge",
        "docker-bridge (published)",
        "docker-bridge (overlay)",
    ):
        assert platform in header
    assert any(h.startswith("vm") and "TCG emulation" in h for h in header)
    rows = {
        m.group(1): re.findall(r'<td class="cost"[^>]*>([^<]*)', m.group(2))
        for m in re.finditer(r'<tr><td class="l">(\w+)</td>(.*?)</tr>', summary.group(1), re.S)
    }
    assert list(rows)[:4] == ["cpu", "memory", "disk", "network"]

    def pct(family: str, column: str) -> bool:
        cell = rows[family][header.index(column)]
        return bool(re.match(r"(\d+\.\d\dx (slower|faster)|parity)", cell))

    vm = next(h for h in header if h.startswith("vm"))
    for family in ("cpu", "memory", "disk", "network"):
        for column in ("docker-host", "docker-bridge", vm):
            assert pct(family, column), (family, column)
    assert pct("network", "docker-bridge (published)")
    assert pct("disk", "docker-bridge (overlay)")
    assert not pct("cpu", "docker-bridge (published)")
    assert re.fullmatch(
        r"[\d.]+ s \(startup time to first exec\)", rows["startup"][header.index(vm)]
    )
    assert dom.count('class="bar"') >= 20  # the overhead bar charts were laid out
    assert dom.count("<circle") >= 100  # distributions of every round
    assert "TCG software emulation" in dom
    shot = tmp_path / "report.png"
    in_chromium(out, tmp_path, [f"--screenshot={shot}"])
    assert shot.stat().st_size > 20_000
    record_property("screenshot", str(shot))
    print(f"report screenshot: {shot}")


def test_history_renders_trends(tmp_path: Path) -> None:
    for i in range(6):
        write_run(
            tmp_path / "runs" / f"{i:04d}_n.json",
            ["host", "docker-bridge"],
            5,
            noisy({"docker-bridge": 1.0 + 0.05 * i}, seed=i),
            date=f"2026-11-{i + 1:02d}T03:00:00",
            commit=f"c0ffee{i}",
        )
    out = tmp_path / "index.html"
    assert main(["report", str(tmp_path / "runs"), "-o", str(out)]) == 0
    dom = in_chromium(out, tmp_path, ["--dump-dom"])
    assert dom.count('class="line"') == 2  # one trend line per family for docker-bridge
    assert "cost against host over 6 runs" in dom
    assert "2026-11-01" in dom
    assert "c0ffee5" in dom


def test_report_of_nothing_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "index.html"
    assert main(["report", str(tmp_path / "empty"), "-o", str(out)]) == 0
    assert "No triptych results" in out.read_text()


HOSTILE = 'a" onload="alert(1)//<script>x</script>\'<img src=x onerror=alert(2)>'


class _Markup(HTMLParser):
    """Every element and attribute a page holds, as a real HTML parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}

    handle_startendtag = handle_starttag


def test_names_from_saved_runs_cannot_write_markup(tmp_path: Path) -> None:
    # Names and metadata of a saved run are not ours: a hostile case, metric, unit, platform
    # and machine must end up as text, never as an element or an attribute of the report.
    metrics = [
        (f"case-{HOSTILE}", "cpu", f"metric {HOSTILE}", f"unit{HOSTILE}", True),
        ("net", f"fam{HOSTILE}", "rtt", "us", False),
    ]
    write_run(
        tmp_path / "runs" / "0001_x.json",
        ["host", f"docker-{HOSTILE}"],
        4,
        noisy({f"docker-{HOSTILE}": 1.5}),
        metrics=metrics,
        machine={"cpu_model": HOSTILE, "kernel": HOSTILE, "host_virtualization": HOSTILE},
        commit=HOSTILE,
    )
    out = tmp_path / "index.html"
    assert main(["report", str(tmp_path / "runs"), "-o", str(out)]) == 0
    page = _Markup()
    page.feed(out.read_text())
    written_by_us = {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "b", "small",
        "div", "section", "table", "tr", "th", "td", "details", "summary", "br", "span",
        "svg", "line", "text", "rect", "circle", "polyline",
    }  # fmt: skip
    attributes_by_us = {
        "charset", "lang", "class", "id", "style", "role", "aria-label", "width", "height",
        "xmlns", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "fill", "fill-opacity",
        "stroke", "stroke-width", "stroke-dasharray", "points", "font-size", "font-weight",
        "text-anchor",
    }  # fmt: skip
    assert page.tags - written_by_us == set()
    assert page.attributes - attributes_by_us == set()
    assert HOSTILE.split("<", maxsplit=1)[0] in html_unescape(out.read_text())  # shown, as text


def test_fleet_table_puts_machines_side_by_side_never_mixed(tmp_path: Path) -> None:
    """Two machines (different kernels), three nights each: one fleet row per machine, each
    cost against that machine's own host, and each machine's own trend lines."""
    slow_bridge = {"bench-1": 1.0, "bench-2": 2.0}
    for m, (machine, bridge) in enumerate(slow_bridge.items()):
        for night in range(3):
            path = tmp_path / "runs" / machine / f"{night:04d}_n.json"
            write_run(
                path, ["host", "docker-bridge"], 5, noisy({"docker-bridge": bridge}, seed=night),
                date=f"2026-11-{night + 1:02d}T03:00:00", machine={"kernel": f"6.1.0-{m}"},
            )  # fmt: skip
            path.write_text(path.read_text().replace('"node": "synthetic"', f'"node": "{machine}"'))
    out = tmp_path / "index.html"
    assert main(["report", str(tmp_path / "runs"), "-o", str(out)]) == 0
    dom = in_chromium(out, tmp_path, ["--dump-dom"])
    fleet = dom.split('id="fleet"')[1].split("</section>")[0]
    tables = {
        t.split("</th>")[0].rsplit(">", 1)[-1]: t for t in fleet.split('<table class="fleet">')[1:]
    }
    assert set(tables) == {"cpu", "network"}
    for table in tables.values():
        rows = {m: r for r in table.split("<tr>") for m in slow_bridge if f">{m}<" in r}
        assert set(rows) == set(slow_bridge)  # one row per machine, never merged
        assert "6.1.0-0" in rows["bench-1"]
        assert "6.1.0-1" in rows["bench-2"]
        assert "0002_n@bench-2" in rows["bench-2"]  # runs of both are 0002_n: named apart
        # Against its own host, bench-2's bridge is 2x off (noisy() doubles every value: the
        # cpu rate, so faster, and the latency, so slower); bench-1's is not, and no average.
        assert "undetermined" in rows["bench-1"]
        assert re.search(r"(1\.9\d|2\.0\d)x (faster|slower)", rows["bench-2"])
    for family in ("cpu", "network"):  # each machine's own trend lines
        assert dom.count(f'aria-label="{family}: cost against host over 3 runs"') == 2
