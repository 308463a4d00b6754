"""The `triptych` command: report, compare, images build and clean; errors are one line, never
a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from triptych.errors import TriptychError
from triptych.images import DEFAULT_CACHE, RootfsRecipe, build_rootfs, docker_image
from triptych.platforms.docker_conn import connect
from triptych.platforms.docker_sweep import clean_docker
from triptych.platforms.host_sweep import DEFAULT_SCRATCH, sweep_host
from triptych.platforms.libvirt_sweep import clean_libvirt
from triptych.report.compare import Sides, changes, markdown, missing, refuse_incomparable
from triptych.report.gate_input import gate_notes, parse_thresholds
from triptych.report.load import load_runs
from triptych.report.render import write_report


def _report(args: argparse.Namespace) -> int:
    runs = [Path(r) for r in args.runs] or [Path(".benchmarks")]
    out = write_report(runs, Path(args.output))
    print(f"triptych: wrote {out}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    thresholds = parse_thresholds(args.metric_threshold)  # bad arguments fail before any I/O
    baseline, current = load_runs([Path(args.baseline)]), load_runs([Path(args.current)])
    for name, runs in (("BASELINE", baseline), ("CURRENT", current)):
        if runs.samples.empty:
            raise TriptychError(
                f"{name} {getattr(args, name.lower())}: no triptych results in it; "
                "pass a run saved by `pytest bench/ --benchmark-save=NAME`"
            )
    sides = Sides.of(baseline, current)
    refuse_incomparable(sides, args.allow_env_change)
    found = changes(sides, args.threshold / 100, thresholds)
    lacking = missing(sides)
    text = markdown(found, args.baseline, args.current, gate_notes(baseline, current, lacking))
    print(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(text)
    failed = any(c.regression for c in found) or (lacking and not args.allow_missing)
    return 1 if failed else 0


def _images_build(args: argparse.Namespace) -> int:
    recipe = RootfsRecipe()
    rootfs = build_rootfs(recipe, Path(args.cache))
    if not args.no_docker:
        client = connect()
        try:
            docker_image(client, recipe, rootfs)
        finally:
            client.close()
    print(f"triptych: images ready ({recipe.key})")
    return 0


def _clean(args: argparse.Namespace) -> int:
    removed = (
        clean_docker(args.session)
        + clean_libvirt(args.session)
        + sweep_host(Path(args.scratch), args.session)
    )
    for r in removed:
        print(f"triptych: removed {r}")
    print(f"triptych: clean: {len(removed)} resource(s) removed")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="triptych", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="render saved runs as one HTML file")
    r.add_argument("runs", nargs="*", help="saved run files or directories (default .benchmarks)")
    r.add_argument("-o", "--output", default="reports/index.html", help="HTML file to write")
    r.set_defaults(func=_report)
    cmp = sub.add_parser("compare", help="fail when CURRENT is significantly worse than BASELINE")
    cmp.add_argument(
        "baseline",
        help="a saved run, or a directory of runs of this machine (each run a unit: a history)",
    )
    cmp.add_argument("current", help="saved run file or directory")
    cmp.add_argument(
        "--threshold",
        type=float,
        default=5.0,
        help="percent worse that counts as a regression (default 5)",
    )
    cmp.add_argument(
        "--metric-threshold",
        action="append",
        default=[],
        metavar="METRIC=PERCENT",
        help='per-metric threshold, e.g. "round-trip time p99=15"; repeatable',
    )
    cmp.add_argument(
        "--allow-env-change",
        action="store_true",
        help="compare runs of different machines, kernels or tool versions (not advised)",
    )
    cmp.add_argument(
        "--allow-missing",
        action="store_true",
        help="pass although CURRENT lacks cases, platforms or metrics BASELINE has",
    )
    cmp.set_defaults(func=_compare)
    images = sub.add_parser("images", help="build the one userland every platform runs")
    isub = images.add_subparsers(dest="images_command", required=True)
    b = isub.add_parser("build", help="debootstrap the root filesystem (cached) and import it")
    b.add_argument("--cache", default=str(DEFAULT_CACHE), help="where root filesystems are kept")
    b.add_argument("--no-docker", action="store_true", help="only build the root filesystem")
    b.set_defaults(func=_images_build)
    c = sub.add_parser("clean", help="remove what crashed sessions left (by label only)")
    c.add_argument("--session", default=None, help="only this session's resources")
    c.add_argument(
        "--scratch", default=str(DEFAULT_SCRATCH), help="the host scratch root runs used"
    )
    c.set_defaults(func=_clean)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TriptychError as e:
        print(f"triptych: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("triptych: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
