"""Command line of planshift (``python run_sim.py ...``).

Sub-commands sit on top of the library: they parse arguments, call one library
function and turn its result or error into output and an exit status (0 ok,
1 a finding such as a bad case, 2 bad usage). No Python traceback reaches a user for
bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["main"]

EXIT_OK, EXIT_FINDING, EXIT_USAGE = 0, 1, 2

CASE_SUFFIXES = (".case.json", ".jsonl", ".cases.json")


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 with usage on stderr
        self.print_usage(sys.stderr)
        raise UsageError(message)


def _case_sources(paths: Sequence[str]) -> list[tuple[str, Path | None]]:
    """(name, path) for every input: files, directories of case files, or '-' (stdin).

    Every path is checked before anything is evaluated, so a typo costs no output.
    """
    sources: list[tuple[str, Path | None]] = []
    for name in paths:
        if name == "-":
            sources.append(("<stdin>", None))
            continue
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.name.endswith(CASE_SUFFIXES))
            if not found:
                raise UsageError(f"{name}: no case files (*.case.json, *.jsonl) in directory")
            sources.extend((str(file), file) for file in found)
        elif path.is_file():
            sources.append((name, path))
        else:
            raise UsageError(f"{name}: no such file or directory")
    return sources


def _read_source(name: str, path: Path | None) -> Iterator[Any]:
    from .harness.cases import read_case_file, read_cases

    if path is None:
        yield from read_cases(sys.stdin.read(), name)
        return
    yield from read_case_file(path)


def _evaluate(args: argparse.Namespace) -> int:
    from .harness.cases import CaseError, evaluate_json

    sources = _case_sources(args.cases)  # fail on a bad path before writing anything
    out: TextIO
    out = sys.stdout if args.out in (None, "-") else _open_out(args.out)
    errors = total = 0
    try:
        for source, path in sources:
            for raw in _read_source(source, path):
                total += 1
                if isinstance(raw, CaseError):
                    record: dict[str, Any] = {"case_id": None, "error": str(raw)}
                else:
                    try:
                        record = evaluate_json(raw)
                    except Exception as error:  # a defect, reported per case, never a crash
                        case_id = raw.get("case_id") if isinstance(raw, dict) else None
                        record = {"case_id": case_id if isinstance(case_id, str) else None,
                                  "error": f"internal error: {type(error).__name__}: {error}"}
                if "error" in record:
                    errors += 1
                    if not args.quiet:
                        print(f"error: {record['case_id'] or source}: {record['error']}",
                              file=sys.stderr)
                out.write(json.dumps(record, separators=(", ", ": ")) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if not args.quiet:
        print(f"{total} case(s), {total - errors} verdict(s), {errors} error(s)",
              file=sys.stderr)
    return EXIT_FINDING if errors else EXIT_OK


def _open_out(name: str) -> TextIO:
    path = Path(name)
    if path.parent and not path.parent.exists():
        raise UsageError(f"--out {name}: directory {path.parent} does not exist")
    return path.open("w", encoding="utf-8")


def _targets(args: argparse.Namespace) -> int:
    from .rules.catalog import builtin_catalog

    catalog = builtin_catalog()
    if args.plan not in catalog.plans:
        raise UsageError(f"unknown plan {args.plan!r}; known: {', '.join(catalog.plans)}")
    for plan in catalog.automatic_targets(args.plan):
        print(f"{plan.id}\t{plan.name}")
    return EXIT_OK


REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = "baseline"


def _find_scenario(name: str) -> Path:
    """A scenario file by path, or by name in ./scenarios or the project's scenarios/."""
    path = Path(name)
    if path.is_file():
        return path
    for folder in (Path("scenarios"), REPO_ROOT / "scenarios"):
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return candidate
    known = sorted(p.stem for p in (REPO_ROOT / "scenarios").glob("*.toml"))
    raise UsageError(f"no scenario {name!r} (a .toml file, or one of: {', '.join(known)})")


class _Progress:
    """A progress bar on stderr, shown only once a run has lasted a moment."""

    def __init__(self, enabled: bool, label: str, delay: float = 1.5) -> None:
        import time

        self.enabled = enabled
        self.label = label
        self.delay = delay
        self.started = time.perf_counter()
        self.shown = False
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, fraction: float) -> None:
        import time

        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        if elapsed < self.delay and fraction < 1.0:
            return
        if not self.shown and fraction >= 1.0:
            return  # finished before it was worth showing
        self.shown = True
        if self.tty:
            filled = int(fraction * 30)
            eta = elapsed / fraction - elapsed if fraction > 0 else 0.0
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                             f"{fraction:4.0%} {elapsed:5.1f}s eta {eta:4.0f}s")
            if fraction >= 1.0:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif int(fraction * 10) > self.last_decile:
            self.last_decile = int(fraction * 10)
            print(f"{self.label}: {fraction:.0%} ({elapsed:.1f}s)", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from .fleet.runner import run_scenario
    from .fleet.scenario import ScenarioError, load_scenario

    path = _find_scenario(args.scenario)
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
    progress = _Progress(not args.quiet, f"{scenario.meta.name}")
    from .fleet.model import InvariantViolation

    try:
        result = run_scenario(scenario, out, fmt=args.format, trace=args.trace,
                              strict=args.strict, progress=progress)
    except InvariantViolation as error:
        print(f"run_sim.py: invariant violated (--strict): {error}", file=sys.stderr)
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
    from .report import build_report

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


def _report(args: argparse.Namespace) -> int:
    from .report import RunError, build_report

    try:
        paths = build_report(args.run_dir)
    except RunError as error:
        raise UsageError(str(error)) from None
    if not args.quiet:
        print(f"report: {paths['html']}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from .report import RunError
    from .report.compare import compare_runs, format_comparison

    if args.rtol < 0:
        raise UsageError("--rtol must be >= 0")
    try:
        comparison = compare_runs(args.baseline, args.candidate, args.rtol, args.metric)
    except RunError as error:
        raise UsageError(str(error)) from None
    print(format_comparison(comparison, only_flagged=args.flagged_only))
    return EXIT_FINDING if comparison.flagged else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="run_sim.py",
        description="planshift: simulator and QA harness for Microsoft 365 plan changes.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate case files and write one verdict per case (CASES.md)",
        description=(
            "Read cases (a JSON case, a JSON array of cases, or JSON Lines; a directory "
            "is searched for *.case.json and *.jsonl files; '-' reads stdin) and write one "
            "verdict per case as JSON Lines. A malformed case yields "
            '{"case_id": ..., "error": "<field path>: <message>"} and the other cases are '
            "still evaluated. Exit status: 0 all verdicts, 1 some case was malformed, "
            "2 bad arguments."
        ),
    )
    evaluate.add_argument("cases", nargs="+", metavar="CASES",
                          help="case file(s) or directories, or - for stdin")
    evaluate.add_argument("--out", metavar="FILE", help="write verdicts here (default stdout)")
    evaluate.add_argument("-q", "--quiet", action="store_true",
                          help="no per-error messages or summary on stderr")
    evaluate.set_defaults(handler=_evaluate)

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

    report = commands.add_parser(
        "report", help="rebuild a run's report from its records alone",
        description="Rebuild summary.json, tables/*.csv, plots/*.png, report.md and "
                    "report.html of a run directory from its stored records.")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.add_argument("-q", "--quiet", action="store_true")
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
    compare.add_argument("--metric", action="append", metavar="NAME",
                         help="only these metrics (names or glob patterns; repeatable)")
    compare.add_argument("--flagged-only", action="store_true",
                         help="print only the metrics outside tolerance")
    compare.set_defaults(handler=_compare)

    targets = commands.add_parser(
        "targets", help="list the automatic-change targets of a plan (R-ELIG-13)")
    targets.add_argument("plan", help="plan id, e.g. BUSINESS_BASIC")
    targets.set_defaults(handler=_targets)
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    parser = build_parser()
    arguments = list(argv) if argv is not None else sys.argv[1:]
    if arguments and arguments[0].startswith("-") and arguments[0] not in ("-h", "--help"):
        arguments.insert(0, "run")  # options without a command are options of the main job
    try:
        args = parser.parse_args(arguments)
        if args.command is None:  # no arguments: the main job on the default scenario
            args = parser.parse_args(["run"])
        return args.handler(args)
    except UsageError as error:
        print(f"run_sim.py: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
