"""The `triptych` command: report (and more to come); errors are one line, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from triptych.errors import TriptychError
from triptych.report.render import write_report


def _report(args: argparse.Namespace) -> int:
    runs = [Path(r) for r in args.runs] or [Path(".benchmarks")]
    out = write_report(runs, Path(args.output))
    print(f"triptych: wrote {out}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="triptych", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="render saved runs as one HTML file")
    r.add_argument("runs", nargs="*", help="saved run files or directories (default .benchmarks)")
    r.add_argument("-o", "--output", default="reports/index.html", help="HTML file to write")
    r.set_defaults(func=_report)
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
