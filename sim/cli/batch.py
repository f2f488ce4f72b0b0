"""``sweep``, ``plan-capacity`` and ``compare-replications``: many runs, with confidence."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import EXIT_FINDING, EXIT_OK, UsageError, find_scenario


def _scenario(args: argparse.Namespace) -> Any:
    from ..fleet.scenario import ScenarioError, load_scenario

    overrides = list(args.set or [])
    if args.seed is not None:
        if args.seed < 0:
            raise UsageError("--seed must be >= 0")
        overrides.append(f"run.seed={args.seed}")
    if args.tenants is not None and args.tenants < 1:
        raise UsageError("--tenants must be >= 1")
    try:
        return load_scenario(find_scenario(args.scenario), overrides)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    except OSError as error:  # e.g. a name too long for the file system
        name = args.scenario if len(args.scenario) <= 120 else f"{args.scenario[:120]}..."
        raise UsageError(f"{name}: {error.strerror or error}") from None


def _usage_errors() -> tuple[type[Exception], ...]:
    from ..batch.capacity import CapacityError
    from ..batch.compare import CompareError
    from ..batch.executor import ExecutorError
    from ..batch.replicate import ReplicationError
    from ..batch.sweep import SweepError

    return CapacityError, CompareError, ExecutorError, ReplicationError, SweepError


def _check_common(args: argparse.Namespace) -> None:
    if not 0.0 < args.confidence < 1.0:
        raise UsageError(f"--confidence must be between 0 and 1, got {args.confidence}")
    if args.replications < 1:
        raise UsageError("--replications must be >= 1")
    from ..batch.peak import parse_window

    try:
        parse_window(args.peak_window)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _sweep(args: argparse.Namespace) -> int:
    from ..batch.sweep import parse_vary, run_sweep

    _check_common(args)
    if args.max_tasks is not None and args.max_tasks < 1:
        raise UsageError(f"--max-tasks must be >= 1, got {args.max_tasks}")
    for name in args.metric or ():  # a plot's file name: never a path out of DIR/plots
        if not name or name.startswith(".") or any(c in name for c in "/\\\0"):
            raise UsageError(f"--metric {name!r}: not a metric name (e.g. queue_wait.p95)")
    scenario = _scenario(args)
    out = Path(args.out) if args.out else (
        Path.cwd() / "reports" / f"sweep-{scenario.meta.name}-{scenario.run.seed}")

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"sweep: {done}/{total} tasks", file=sys.stderr)

    try:
        varies = [parse_vary(text) for text in args.vary]
        result = run_sweep(scenario, out, varies, args.replications, args.jobs,
                           executor_spec=args.executor, tenants=args.tenants,
                           confidence=args.confidence, peak_window=args.peak_window,
                           plot_metrics=args.metric or _default_plots(),
                           max_tasks=args.max_tasks, on_task=progress)
    except _usage_errors() as error:
        raise UsageError(str(error)) from None
    if not result.complete:
        print(f"sweep: stopped after {result.tasks_run} new task(s); run the same command "
              f"again to resume ({out})", file=sys.stderr)
        return EXIT_FINDING
    known = set(result.results[0]["metrics"]) if result.results else set()
    unknown = [name for name in args.metric or () if name not in known]
    if unknown:  # the table is written; the run resumes instantly with better names
        examples = ", ".join(sorted(known)[:6])
        raise UsageError(f"--metric {', '.join(unknown)}: no such metric in the sweep's "
                         f"results (e.g. {examples}; see points.csv); no plot for it")
    if not args.quiet:
        print(f"sweep: {len(result.points)} point(s) x {args.replications} replication(s); "
              f"table {out / 'sweep.parquet'} (+ sweep.csv, points.csv, plots/)")
    return EXIT_OK


def _default_plots() -> tuple[str, ...]:
    from ..batch.sweep import PLOT_METRICS

    return PLOT_METRICS


def _plan_capacity(args: argparse.Namespace) -> int:
    from ..batch.capacity import parse_target, plan_capacity

    _check_common(args)
    scenario = _scenario(args)
    try:
        target = parse_target(args.target)
        plan = plan_capacity(scenario, target, args.replications, confidence=args.confidence,
                             max_workers=args.max_workers, min_workers=args.min_workers,
                             extra_replications=args.extra_replications, jobs=args.jobs,
                             executor_spec=args.executor, tenants=args.tenants,
                             peak_window=args.peak_window)
    except _usage_errors() as error:
        raise UsageError(str(error)) from None
    bound = "upper" if target.op in ("<=", "<") else "lower"
    print(f"target {target} at {plan.confidence:.0%} confidence: the {bound} end of each "
          f"point's Student-t interval must meet it (peak window {args.peak_window})")
    print(f"  {'workers':>7}  {'R':>3}  {'mean':>12}  {'ci_low':>12}  {'ci_high':>12}  met")
    for probe in plan.probes:
        m = probe.metric
        cells = [_number(m[k]) for k in ("mean", "ci_low", "ci_high")]
        print(f"  {probe.workers:>7}  {probe.replications:>3}  {cells[0]:>12}  "
              f"{cells[1]:>12}  {cells[2]:>12}  {'yes' if probe.met else 'no'}")
    if plan.answer is None:
        print(f"no worker count up to {args.max_workers} meets {target}; raise --max-workers")
        return EXIT_FINDING
    print(f"answer: {plan.answer} worker(s) of capacity.workers ({scenario.meta.name}, "
          f"base seed {scenario.run.seed})")
    return EXIT_OK


def _number(value: Any) -> str:
    return "" if value is None else f"{float(value):.6g}"


def _compare_replications(args: argparse.Namespace) -> int:
    from ..batch.compare import compare_replicated, format_stat_comparison

    try:
        comparison = compare_replicated(args.baseline, args.candidate, args.confidence,
                                        args.min_effect, args.metric)
    except _usage_errors() as error:
        raise UsageError(str(error)) from None
    print(format_stat_comparison(comparison, only_flagged=args.flagged_only))
    return EXIT_FINDING if comparison.flagged else EXIT_OK


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO")
    parser.add_argument("--replications", type=int, default=5,
                        help="replications per point (default 5)")
    parser.add_argument("--tenants", type=int, help="override run.tenants")
    parser.add_argument("--seed", type=int, help="base seed (override run.seed)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override any scenario key (repeatable)")
    parser.add_argument("--jobs", type=int, help="worker processes (default: the cores)")
    parser.add_argument("--executor", metavar="SPEC",
                        help="'process' (default), dask://HOST:PORT or dask://local "
                             "(needs planshift[dask])")
    parser.add_argument("--confidence", type=float, default=0.95,
                        help="confidence of the Student-t intervals (default 0.95)")
    parser.add_argument("--peak-window", default="month-end:3", metavar="KIND:DAYS",
                        help="peak window of the peak.* metrics: month-end:K or busiest:K")


def register(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep", help="run a grid of scenario variations x replications (tidy table)",
        description="Run every combination of the --vary values, each at R replication "
                    "seeds, and write DIR/sweep.parquet and sweep.csv (one row per point x "
                    "replication x metric), points.csv (mean and interval per point) and "
                    "plots/ (each metric against the first varied key, with its band). An "
                    "interrupted sweep resumes: run the same command again.")
    _common(sweep)
    sweep.add_argument("--vary", action="append", required=True, metavar="KEY=VALUES",
                       help="key.path=v1,v2,... or key.path=start:stop:step (repeatable), "
                            "e.g. capacity.workers=1,2,4,8 or demand.request_share=0.3:0.6:0.1")
    sweep.add_argument("--out", metavar="DIR",
                       help="output directory (default ./reports/sweep-<scenario>-<seed>)")
    sweep.add_argument("--metric", action="append", metavar="NAME",
                       help="metrics to plot (repeatable; default queue waits, utilisation, "
                            "SLA breaches)")
    sweep.add_argument("--max-tasks", type=int, metavar="N",
                       help="stop after N new tasks (resume later with the same command)")
    sweep.add_argument("-q", "--quiet", action="store_true")
    sweep.set_defaults(handler=_sweep)

    plan = commands.add_parser(
        "plan-capacity", help="smallest worker count meeting a target with confidence",
        description="Bisect over capacity.workers for the smallest count whose confidence "
                    "bound meets --target (e.g. 'peak.queue_wait.p95<=60' or "
                    "'queue_wait_p95_minutes<=60'), adding replications near the boundary, "
                    "and print the tried points as evidence. Exit 1 if none up to "
                    "--max-workers meets it.")
    _common(plan)
    plan.add_argument("--target", required=True, metavar="METRIC<=VALUE")
    plan.add_argument("--max-workers", type=int, default=64)
    plan.add_argument("--min-workers", type=int, default=1)
    plan.add_argument("--extra-replications", type=int,
                      help="most replications added to a point whose interval straddles "
                           "the target (default: --replications)")
    plan.set_defaults(handler=_plan_capacity)

    compare = commands.add_parser(
        "compare-replications", help="Welch's t-test per metric between two replicated runs",
        description="Compare two replication sets (or two groups of runs, separated by "
                    "--against) metric by metric with Welch's t-test; p-values are "
                    "Holm-adjusted across metrics and a metric is flagged when the adjusted "
                    "p < 1 - confidence. Exit 1 if any metric is flagged.")
    compare.add_argument("baseline", nargs="+", metavar="BASELINE")
    compare.add_argument("--against", dest="candidate", nargs="+", required=True,
                         metavar="CANDIDATE")
    compare.add_argument("--confidence", type=float, default=0.95)
    compare.add_argument("--min-effect", type=float, default=0.0,
                         help="also require this relative effect to flag (default 0)")
    compare.add_argument("--metric", action="append", metavar="NAME",
                         help="only these metrics (names or glob patterns; repeatable)")
    compare.add_argument("--flagged-only", action="store_true")
    compare.set_defaults(handler=_compare_replications)
