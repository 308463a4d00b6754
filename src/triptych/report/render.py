"""Renders the report HTML from the samples DataFrame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from triptych.report.load import load_runs


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("triptych.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )


def platform_label(platform: str, variant: str) -> str:
    return platform if variant in ("default", "") else f"{platform} ({variant})"


def median_table(df: pd.DataFrame) -> tuple[list[str], list[dict[str, Any]]]:
    """Median of every metric per platform label, one row per (family, case, metric)."""
    df = df.assign(
        label=[platform_label(p, v) for p, v in zip(df.platform, df.variant, strict=True)]
    )
    keys = ["family", "case", "metric", "unit"]
    labels = sorted(df.label.unique(), key=lambda lab: (lab != "host", lab))
    rows = []
    for key, group in df.groupby(keys, sort=True):
        cells = {
            str(lab): f"{v:.4g}" for lab, v in group.groupby("label")["value"].median().items()
        }
        rows.append({**dict(zip(keys, key, strict=True)), "cells": cells})
    return [str(x) for x in labels], rows


def write_report(runs: list[Path], out: Path) -> Path:
    df, _machines = load_runs(runs)
    platforms, rows = median_table(df)
    html = (
        _env()
        .get_template("report.html.j2")
        .render(runs=sorted(df.run.unique()), platforms=platforms, rows=rows)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
