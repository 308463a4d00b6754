"""The `triptych` command: report, compare, images build and clean; errors are one line, never
a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from triptych.errors import TriptychError
from triptych.gate import CALIBRATE, WINDOW
from triptych.results.digest import start
from triptych.session import DEFAULT_SCRATCH, new_session_id, valid_session
from triptych.store.choice import ENV, store_url


def _report(args: argparse.Namespace) -> int:
    url = store_url(args.store, files_named=bool(args.runs))
    given = Path(args.regressions) if args.regressions else None
    runs = [Path(r) for r in args.runs] or [Path(".benchmarks")]
    # Saved runs begin to be read before the report's modules (pandas, numpy, scipy) are
    # imported: the pool's workers are forked small and make digests meanwhile.
    pending = None if url is not None else start(runs)
    from triptych.report.of_record import records_in  # noqa: PLC0415 - after the workers start
    from triptych.report.render import template, write_runs  # noqa: PLC0415
    from triptych.results.load import load_runs  # noqa: PLC0415

    template()  # compiled while the workers still read the runs

    if url is not None:
        from triptych.store.commands import report_runs  # noqa: PLC0415 - psycopg on demand

        json_out = Path(args.json) if args.json else None
        from triptych.store.regressions import every_machine  # noqa: PLC0415

        out = write_runs(
            report_runs(url, args.machine, args.since),
            Path(args.output),
            json_out,
            records_in([], given) if given else every_machine(url, args.machine),
        )
    else:
        out = write_runs(
            load_runs(runs, pending),
            Path(args.output),
            Path(args.json) if args.json else None,
            records_in(runs, given),
        )
    print(f"triptych: wrote {out}" + (f" and {args.json}" if args.json else ""))
    return 0


def _noise(args: argparse.Namespace) -> int:
    from triptych.noise_cli import noise_lines  # noqa: PLC0415 - pandas on demand

    for line in noise_lines([Path(r) for r in args.runs] or [Path(".benchmarks")]):
        print(line)
    return 0


def _publish(args: argparse.Namespace) -> int:
    url = store_url(args.store)
    if url is None:
        raise TriptychError("publish needs a store: pass --store URL or set TRIPTYCH_STORE")
    from triptych.store.commands import publish_runs  # noqa: PLC0415 - psycopg on demand
    from triptych.store.publish import REFUSED  # noqa: PLC0415

    lines = publish_runs(url, [Path(r) for r in args.runs] or [Path(".benchmarks")])
    for line in lines:
        print(f"triptych: {' '.join(line.split())}")
    print(f"triptych: publish: {len(lines)} run(s)")
    return 1 if any(REFUSED in line for line in lines) else 0


def _compare(args: argparse.Namespace) -> int:
    from triptych.gate.command import compare  # noqa: PLC0415 - scipy on demand

    return compare(args)


def _accept(args: argparse.Namespace) -> int:
    from triptych.gate.command import accept  # noqa: PLC0415 - pandas on demand

    return accept(args)


def _accept_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    a = sub.add_parser(
        "accept", help="close an open regression of record as the new normal, with a reason"
    )
    a.add_argument(
        "record",
        nargs="?",
        help="the regressions record, or the directory of runs that holds it (none: the "
        "store's record of this machine, with --store or $" + ENV + ")",
    )
    a.add_argument("--store", default=None, help=f"the store that keeps it (or ${ENV})")
    a.add_argument(
        "--machine", default=None, help="with --store: this machine's record (its host name)"
    )
    a.add_argument("--list", action="store_true", help="list the open regressions")
    a.add_argument("--case", default=None)
    a.add_argument("--metric", default=None)
    a.add_argument("--platform", default=None, help="the column, as the gate's table names it")
    a.add_argument("--env", default=None, help="the environment, when it is open in several")
    a.add_argument("--reason", default=None, help="why this is the new normal (recorded)")
    a.add_argument("--by", default=None, help="who accepts it (default: $SUDO_USER or the user)")
    a.set_defaults(func=_accept)


def _images_build(args: argparse.Namespace) -> int:
    # The engines' libraries are loaded by the commands that use them, not by `report`.
    from triptych.images import DEFAULT_CACHE, RootfsRecipe, build_rootfs, docker_image  # noqa: PLC0415
    from triptych.platforms.docker_conn import connect  # noqa: PLC0415

    recipe = RootfsRecipe()
    rootfs = build_rootfs(recipe, Path(args.cache) if args.cache else DEFAULT_CACHE)
    if not args.no_docker:
        client = connect()
        try:
            docker_image(client, recipe, rootfs)
        finally:
            client.close()
    print(f"triptych: images ready ({recipe.key})")
    return 0


def _clean(args: argparse.Namespace) -> int:
    from triptych import machine_lock  # noqa: PLC0415 - psutil: not on the report's path
    from triptych.platforms.registry import cleaners  # noqa: PLC0415 - see _images_build

    if args.session is not None and not valid_session(args.session):
        raise TriptychError(
            f"--session {args.session!r} is not a session id; give one like 20261201215307-"
            "a1b2c3 (a run's journal name), or leave --session out for every dead run's"
        )
    try:
        lock = machine_lock.acquire(new_session_id(), wait=False)
    except machine_lock.MachineBusy:
        raise TriptychError(
            f"refusing to clean while a run measures on this machine ({machine_lock.holder()}); "
            "run triptych clean once it has ended"
        ) from None
    try:
        # Only what carries our owner mark and whose owner is provably dead.
        removed = [r for clean in cleaners() for r in clean(args.session, Path(args.scratch))]
    finally:
        machine_lock.release(lock)
    for r in removed:
        print(f"triptych: removed {r}")
    print(f"triptych: clean: {len(removed)} resource(s) removed")
    return 0


def _store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", default=None, help=f"read runs from a store, postgresql://... (or ${ENV})"
    )
    p.add_argument(
        "--machine", default=None, help="with --store: only this machine's runs (its host name)"
    )


def _nightly_options(cmp: argparse.ArgumentParser) -> None:
    """The nightly gate's options (with --last)."""
    cmp.add_argument(
        "--calibrate",
        type=int,
        default=CALIBRATE,
        metavar="N",
        help=f"with --last: until the newest run has N earlier runs in its environment and "
        f"scenario, the gate is calibrating: it prints its comparison and exits 2 (not a pass) "
        f"unless something regressed (default {CALIBRATE})",
    )
    cmp.add_argument(
        "--window",
        type=int,
        default=WINDOW,
        metavar="N",
        help="with --last: each primary metric's newest N nights are tested for a step "
        f"(default {WINDOW})",
    )
    cmp.add_argument(
        "--flagged",
        default=None,
        metavar="FILE",
        help="with --last: write the cases of the suspected regressions to FILE, one per line, "
        "for a rerun the same night (removed when none is suspected)",
    )
    cmp.add_argument(
        "--confirming",
        action="store_true",
        help="with --last: the newest run is a rerun of the suspected regressions' cases; "
        "only their metrics are compared (those a rerun re-draws enough of; the rest wait for "
        "the next night): a second regression confirms them (exit 1), a rerun back within the "
        "threshold reverts them",
    )
    cmp.add_argument(
        "--regressions",
        default=None,
        metavar="FILE",
        help="with --last: the regressions of record, kept open until accepted or reverted "
        "(default: regressions.record in the directory of runs; with --store, the store's "
        "record of this machine or --machine)",
    )


def _compare_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    cmp = sub.add_parser("compare", help="fail when CURRENT is significantly worse than BASELINE")
    cmp.add_argument(
        "baseline",
        nargs="?",
        help="a saved run, or a directory of runs of this machine (each run a unit: a history)",
    )
    cmp.add_argument("current", nargs="?", help="saved run file or directory")
    _store_options(cmp)
    cmp.add_argument(
        "--last",
        type=int,
        default=None,
        help="the newest run (of a directory, or of this machine in --store) against the N "
        "runs before it taken in the same environment",
    )
    _nightly_options(cmp)
    cmp.add_argument(
        "--threshold",
        default="5",
        help="percent worse that counts as a regression, 0 to 100 (default 5)",
    )
    cmp.add_argument(
        "--metric-threshold",
        action="append",
        default=[],
        metavar="METRIC=PERCENT",
        help='per-metric threshold, e.g. "round-trip time p99=15"; repeatable',
    )
    cmp.add_argument(
        "--noise",
        default=None,
        metavar="DIR",
        help="with BASELINE and CURRENT: a directory of this machine's earlier runs; a metric "
        "measured on one set-up in both is decided against the spread those runs showed for it "
        "(the newest 30 of CURRENT's environment and scenario, at least 5) instead of its "
        "family's conservative floor",
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


def _report_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    r = sub.add_parser("report", help="render saved runs as one HTML file")
    r.add_argument("runs", nargs="*", help="saved run files or directories (default .benchmarks)")
    r.add_argument("-o", "--output", default="reports/index.html", help="HTML file to write")
    r.add_argument(
        "--json", default=None, metavar="FILE", help="also write every verdict as data (JSON)"
    )
    r.add_argument(
        "--regressions",
        default=None,
        metavar="FILE",
        help="the nightly gate's regressions of record to list (default: each directory's own; "
        "with --store, the store's, of every machine or --machine)",
    )
    _store_options(r)
    r.add_argument("--since", default=None, help="with --store: runs taken since this date")
    r.set_defaults(func=_report)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="triptych", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    _report_parser(sub)
    noise = sub.add_parser("noise", help="round, set-up and run noise of runs with set-ups")
    noise.add_argument(
        "runs", nargs="*", help="saved run files or directories (default .benchmarks)"
    )
    noise.set_defaults(func=_noise)
    pub = sub.add_parser("publish", help="send saved runs (and partial runs' journals) to a store")
    pub.add_argument("runs", nargs="*", help="saved run files or directories (default .benchmarks)")
    pub.add_argument("--store", default=None, help=f"postgresql://... (default ${ENV})")
    pub.set_defaults(func=_publish)
    _compare_parser(sub)
    _accept_parser(sub)
    images = sub.add_parser("images", help="build the one userland every platform runs")
    isub = images.add_subparsers(dest="images_command", required=True)
    b = isub.add_parser("build", help="debootstrap the root filesystem (cached) and import it")
    b.add_argument(
        "--cache",
        default=None,
        help="where root filesystems are kept (default $TRIPTYCH_CACHE or /var/cache/triptych)",
    )
    b.add_argument("--no-docker", action="store_true", help="only build the root filesystem")
    b.set_defaults(func=_images_build)
    c = sub.add_parser(
        "clean",
        help="remove what runs that died left (only what carries our owner mark, whose owner "
        "is provably dead; refused while a run measures)",
    )
    c.add_argument("--session", default=None, help="only this session's resources")
    c.add_argument(
        "--scratch", default=str(DEFAULT_SCRATCH), help="the host scratch root runs used"
    )
    c.set_defaults(func=_clean)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (`argv`, or the process's own arguments when None). As the console
    command (argv None), a report that ended leaves without the interpreter's teardown: see
    _leave."""
    args = parser().parse_args(argv)
    try:
        code = int(args.func(args))
    except TriptychError as e:
        # One line, whatever a file we read put in the message (no line of ours starts `::`).
        print(f"triptych: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("triptych: interrupted", file=sys.stderr)
        return 130
    if argv is None and args.func is _report:
        _leave(code)
    return code


def _leave(code: int) -> NoReturn:
    """Exit at once. With pandas, numpy and scipy loaded the interpreter's teardown takes about
    0.1 s (a tenth of a warm report) to free what the kernel frees anyway, and a report leaves
    nothing for it: its files are written and closed, its workers joined, and its streams are
    flushed here."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: as the interpreter's own exit says it
        code = code or 120
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
