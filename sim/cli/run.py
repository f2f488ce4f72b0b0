"""``run``: simulate a scenario's fleet and write its records and report (the main job)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import (
    DEFAULT_SCENARIO,
    EXIT_FINDING,
    EXIT_OK,
    UsageError,
    find_scenario,
)


def _run(args: argparse.Namespace) -> int:
    from ..fleet.allocator import prefer_system_allocator

    prefer_system_allocator()  # before pyarrow is imported (peak RSS, issue 11)
    from ..fleet.outdir import OutputError
    from ..fleet.runner import run_scenario
    from ..fleet.sizing import MemoryLimitError, check_memory, parse_size

    limit = None
    if args.max_memory is not None:
        try:
            limit = parse_size(args.max_memory)
        except ValueError as error:
            raise UsageError(f"--max-memory: {error}") from None
    scenario, out = _scenario_and_output(args)
    try:
        check_memory(scenario.run.tenants, limit)  # before allocating
    except MemoryLimitError as error:
        raise UsageError(str(error)) from None
    if args.replications is not None:
        return _replications(args, scenario, out)
    from ..fleet.model import InvariantViolation
    from .progress import progress_display

    report = getattr(args, "report", True)
    plots = not getattr(args, "no_plots", False)
    display = progress_display(args.quiet, getattr(args, "progress", False),
                               f"{scenario.meta.name}: ")
    try:
        with display as phases:
            finish = ((lambda directory: _maybe_report(directory, True, plots, phases))
                      if report else None)
            result = run_scenario(scenario, out, fmt=args.format, trace=args.trace,
                                  strict=args.strict, progress=phases, force=args.force,
                                  finish=finish)
    except OutputError as error:
        raise UsageError(str(error)) from None
    except InvariantViolation as error:
        print(f"planshift: invariant violated (--strict): {error}", file=sys.stderr)
        return EXIT_FINDING
    if not args.quiet:
        _print_summary(result)
        if report and (result.directory / "report.html").is_file():
            print(f"report: {result.directory / 'report.html'}")
    return EXIT_FINDING if result.violations and args.strict else EXIT_OK


def _scenario_and_output(args: argparse.Namespace) -> tuple[Any, Path]:
    """The scenario with its overrides, and the output directory: --out, or
    ./reports/<name>-<seed>[-<hash of the overrides>] under the current directory."""
    from ..fleet.outdir import run_directory_name
    from ..fleet.scenario import ScenarioError, load_scenario, scenario_to_dict

    path = find_scenario(args.scenario)
    overrides = list(args.set or [])
    if args.tenants is not None:
        if args.tenants < 1:
            raise UsageError("--tenants must be >= 1")
        overrides.append(f"run.tenants={args.tenants}")
    if args.seed is not None:
        if args.seed < 0:
            raise UsageError("--seed must be >= 0")
        overrides.append(f"run.seed={args.seed}")
    try:
        scenario = load_scenario(path, overrides)
        base = load_scenario(path, []) if overrides else scenario
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    if args.out is not None:
        if not args.out.strip():
            raise UsageError("--out: empty path (name the output directory)")
        return scenario, Path(args.out)
    name = run_directory_name(scenario.meta.name, scenario.run.seed,
                              scenario_to_dict(scenario), scenario_to_dict(base))
    return scenario, Path.cwd() / "reports" / name


def _replications(args: argparse.Namespace, scenario: Any, out: Path) -> int:
    """``run --replications R``: R derived seeds into OUT/rep-NNN and an aggregate summary
    with Student-t intervals (sim.batch.replicate), through the executor seam."""
    from ..batch.executor import ExecutorError
    from ..batch.replicate import ReplicationError, run_replications

    if args.replications < 2:
        raise UsageError("--replications must be >= 2 (an interval needs a spread)")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be >= 1")
    try:
        result = run_replications(scenario, out, args.replications, args.jobs,
                                  executor_spec=args.executor, record_format=args.format,
                                  force=args.force)
    except (ReplicationError, ExecutorError) as error:
        raise UsageError(str(error)) from None
    if not args.quiet:
        print(f"{args.replications} replications of {scenario.meta.name}: "
              f"{result.directory}")
        print(f"report: {result.directory / 'report.html'}")
    return EXIT_OK


def _maybe_report(directory: Path, quiet: bool, plots: bool = True,
                  progress: Any = None) -> int | None:
    """Write the report of a run (called on the complete run before it is moved into
    place); a failing report is a warning, never the loss of the records."""
    from ..fleet.progress import as_phases
    from ..report import build_report

    try:
        build_report(directory, plots=plots, progress=as_phases(progress))
    except Exception as error:  # the records stay; `planshift report DIR` can retry
        print(f"planshift: warning: report not built ({type(error).__name__}: {error}); "
              "rebuild it with `planshift report RUN_DIR`", file=sys.stderr)
    return None


def _print_summary(result) -> None:
    manifest = result.manifest
    rows = result.rows
    print(f"scenario {manifest['scenario_name']} seed {manifest['seed']}: "
          f"{manifest['tenants']} tenants, {result.requests} change requests, "
          f"{result.completed} completed in {result.seconds:.1f}s")
    print(f"records: {result.directory} ({', '.join(f'{k} {v}' for k, v in rows.items())})")
    by_rule = manifest.get("invariant_violations", {}).get("by_rule", {})
    detail = f" ({', '.join(f'{rule} {n}' for rule, n in sorted(by_rule.items()))})" \
        if by_rule else ""
    print(f"invariant violations (INV-01..07): {result.violations}{detail}")



def register(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="simulate a fleet for a scenario and write its records (the main job)",
        description=(
            "Simulate a scenario's fleet over its horizon and write the records "
            "(changes, attempts, ledger, capacity, population, violations, optional trace) "
            "and manifest.json into ./reports/<scenario>-<seed>[-<hash of overrides>]/ under "
            "the current directory (or --out). SCENARIO is a "
            "TOML file, ./scenarios/NAME.toml, or a shipped scenario (default: baseline; "
            "`planshift params` lists every key)."
        ),
    )
    run.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, metavar="SCENARIO")
    run.add_argument("--tenants", type=int, help="override run.tenants")
    run.add_argument("--seed", type=int, help="override run.seed")
    run.add_argument("--out", metavar="DIR",
                     help="output directory (default ./reports/<scenario>-<seed>, plus a "
                          "short hash of the overrides when there are any); it must be absent "
                          "or empty, or hold a finished planshift run (see --force)")
    run.add_argument("--force", action="store_true",
                     help="replace a finished planshift run in the output directory")
    run.add_argument("--max-memory", metavar="SIZE",
                     help="refuse runs whose estimated peak memory is above SIZE "
                          "(e.g. 16G; default 75%% of physical memory)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override any scenario key, e.g. capacity.workers=8 (repeatable)")
    run.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                     help="record file format (default parquet)")
    run.add_argument("--trace", action="store_true", help="also write the full event trace")
    run.add_argument("--strict", action="store_true",
                     help="stop at the first invariant violation (exit 1)")
    run.add_argument("--replications", type=int, metavar="R",
                     help="run R seeds derived from --seed (SeedSequence spawn) into "
                          "OUT/rep-NNN and aggregate every metric with a 95%% interval")
    run.add_argument("--jobs", type=int, metavar="J",
                     help="parallel replications (default: the number of cores)")
    run.add_argument("--executor", metavar="SPEC",
                     help="dask://HOST:PORT or dask://local (needs planshift[dask]); "
                          "default a local process pool")
    run.add_argument("--no-plots", action="store_true",
                     help="build the report without plots (faster, for batch use)")
    run.add_argument("--progress", action="store_true",
                     help="show progress on stderr even when it is not a terminal (one line "
                          "per tenth of each phase, no control codes; for CI logs)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    run.set_defaults(handler=_run)

