"""``report`` and ``compare``: what can be done with stored runs."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from .common import EXIT_FINDING, EXIT_OK, UsageError


def _report(args: argparse.Namespace) -> int:
    from ..report import FxError, RunError, build_report
    from .progress import progress_display

    try:
        with progress_display(args.quiet, args.progress) as phases:
            paths = build_report(args.run_dir, plots=not args.no_plots, fx=args.fx,
                                 verify=not args.no_verify, progress=phases)
    except (RunError, FxError) as error:
        raise UsageError(str(error)) from None
    if not args.quiet:
        print(f"report: {paths['html']}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from ..report import RunError
    from ..report.compare import compare_runs, format_comparison

    if not math.isfinite(args.rtol) or args.rtol < 0:
        raise UsageError(f"--rtol must be a finite number >= 0, not {args.rtol}")
    if not (math.isfinite(args.confidence) and 0.5 <= args.confidence < 1):
        raise UsageError(f"--confidence must be in [0.5, 1), not {args.confidence}")
    from ..batch.compare import is_replication_set

    if is_replication_set(args.baseline) or is_replication_set(args.candidate):
        return _compare_replicated(args)
    try:
        comparison = compare_runs(args.baseline, args.candidate, args.rtol, args.metric,
                                  verify=not args.no_verify)
    except RunError as error:
        raise UsageError(str(error)) from None
    for warning in comparison.warnings:
        print(f"planshift: warning: {warning}", file=sys.stderr)
    print(format_comparison(comparison, only_flagged=args.flagged_only))
    return EXIT_FINDING if comparison.flagged else EXIT_OK



def _compare_replicated(args: argparse.Namespace) -> int:
    """Both sides replicated: each metric judged by Welch's t-test (Holm-corrected across
    metrics) at --confidence, not by a bare relative tolerance (sim.batch.compare)."""
    from ..batch.compare import CompareError, compare_replicated, format_stat_comparison

    try:
        comparison = compare_replicated([args.baseline], [args.candidate], args.confidence,
                                        metrics=args.metric)
    except CompareError as error:
        raise UsageError(str(error)) from None
    print(format_stat_comparison(comparison, only_flagged=args.flagged_only))
    return EXIT_FINDING if comparison.flagged else EXIT_OK


def register(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="rebuild a run's report from its records alone",
        description="Rebuild summary.json, tables/*.csv, plots/*.png, report.md and "
                    "report.html of a run directory from its stored records.")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    report.add_argument("--progress", action="store_true",
                        help="show progress on stderr even when it is not a terminal (one "
                             "line per tenth of each phase, no control codes)")
    report.add_argument("--no-verify", action="store_true",
                        help="do not check the record files' sha256 and row counts against "
                             "the manifest")
    report.add_argument("--no-plots", action="store_true",
                        help="skip the plots (faster, for batch use)")
    report.add_argument("--fx", metavar="FILE",
                        help="a conversion table (.toml or .json: target and rates) to add totals "
                             "converted into one currency; without it amounts of different "
                             "currencies are never summed")
    report.set_defaults(handler=_report)

    compare = commands.add_parser(
        "compare", help="compare two runs' metrics (QA regression); exit 1 on a regression",
        description="Print a table of metric deltas between two run directories and flag "
                    "those outside tolerance (|delta| > rtol * max(|a|, |b|)). For two runs "
                    "of the same scenario and seed, also say whether the record files are "
                    "identical and how many rows differ per table. Exit status: 0 all "
                    "within tolerance, 1 some metric outside, 2 bad input.")
    compare.add_argument("baseline", metavar="BASELINE")
    compare.add_argument("candidate", metavar="CANDIDATE")
    compare.add_argument("--rtol", type=float, default=0.05,
                         help="relative tolerance (default 0.05)")
    compare.add_argument("--confidence", type=float, default=0.95,
                         help="for replicated runs (run --replications): the confidence of "
                              "Welch's t-test per metric (default 0.95)")
    compare.add_argument("--metric", action="append", metavar="NAME",
                         help="only these metrics (names or glob patterns; repeatable)")
    compare.add_argument("--flagged-only", action="store_true",
                         help="print only the metrics outside tolerance")
    compare.add_argument("--no-verify", action="store_true",
                         help="do not check the record files against their manifests")
    compare.set_defaults(handler=_compare)

