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
    REPO_ROOT,
    Progress,
    UsageError,
    find_scenario,
)


def _run(args: argparse.Namespace) -> int:
    from ..fleet.runner import run_scenario
    from ..fleet.scenario import ScenarioError, load_scenario

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
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    out = Path(args.out) if args.out else (
        REPO_ROOT / "reports" / f"{scenario.meta.name}-{scenario.run.seed}")
    progress = Progress(not args.quiet, f"{scenario.meta.name}")
    from ..fleet.model import InvariantViolation

    try:
        result = run_scenario(scenario, out, fmt=args.format, trace=args.trace,
                              strict=args.strict, progress=progress)
    except InvariantViolation as error:
        print(f"planshift: invariant violated (--strict): {error}", file=sys.stderr)
        return EXIT_FINDING
    if not args.quiet:
        _print_summary(result)
    if getattr(args, "report", True):
        report = _maybe_report(result.directory, args.quiet)
        if report is not None:
            return report
    return EXIT_FINDING if result.violations and args.strict else EXIT_OK


def _maybe_report(directory: Path | None, quiet: bool) -> int | None:
    """Write the report of a finished run when the reports layer is installed."""
    from ..report import build_report

    build_report(directory)
    if not quiet:
        print(f"report: {directory / 'report.html'}")
    return None


def _print_summary(result) -> None:
    manifest = result.manifest
    rows = result.rows
    print(f"scenario {manifest['scenario_name']} seed {manifest['seed']}: "
          f"{manifest['tenants']} tenants, {result.requests} change requests, "
          f"{result.completed} completed in {result.seconds:.1f}s")
    print(f"records: {result.directory} ({', '.join(f'{k} {v}' for k, v in rows.items())})")
    print(f"invariant violations (INV-01..06): {result.violations}")
    late = manifest["rule_violations"]["P-TIME-03"]["late_credit_lines"]
    if late:
        print(f"P-TIME-03: {late} credit line(s) invoiced more than 30 days after the change")



def register(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="simulate a fleet for a scenario and write its records (the main job)",
        description=(
            "Simulate a scenario's fleet over its horizon and write the records "
            "(changes, attempts, ledger, capacity, population, violations, optional trace) "
            "and manifest.json into reports/<scenario>-<seed>/ (or --out). SCENARIO is a "
            "TOML file or the name of one in scenarios/ (default: baseline)."
        ),
    )
    run.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, metavar="SCENARIO")
    run.add_argument("--tenants", type=int, help="override run.tenants")
    run.add_argument("--seed", type=int, help="override run.seed")
    run.add_argument("--out", metavar="DIR", help="output directory")
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override any scenario key, e.g. capacity.workers=8 (repeatable)")
    run.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                     help="record file format (default parquet)")
    run.add_argument("--trace", action="store_true", help="also write the full event trace")
    run.add_argument("--strict", action="store_true",
                     help="stop at the first invariant violation (exit 1)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    run.set_defaults(handler=_run)

