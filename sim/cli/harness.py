"""``cases`` and ``check``: the QA harness (issue 9, HARNESS.md).

``cases RUN_DIR|SCENARIO`` exports a simulated fleet's requests as cases with the
model's verdicts and rule coverage; ``check CASES --sut ADAPTER`` feeds them to a
billing system under test, writes every disagreement and shrinks it to a minimal case.
``check DIR`` on a regression folder checks its stored verdicts (no ``--sut``) or
replays it against a SUT, each case FIXED or STILL FAILING.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .common import EXIT_OK, UsageError, find_scenario

CASE_SUFFIXES = (".case.json", ".jsonl", ".cases.json", ".json")


def _scenario(source: str, tenants: int | None, seed: int | None) -> Any:
    """The scenario of a finished run directory, or a scenario file/name, with overrides."""
    from ..fleet.outdir import finished_run
    from ..fleet.scenario import ScenarioError, load_scenario, scenario_from_dict

    overrides = []
    if tenants is not None:
        overrides.append(f"run.tenants={tenants}")
    if seed is not None:
        overrides.append(f"run.seed={seed}")
    path = Path(source)
    try:
        if path.is_dir():
            manifest = finished_run(path)
            if manifest is None or not isinstance(manifest.get("scenario"), dict):
                raise UsageError(f"{source}: not a finished planshift run directory")
            if overrides:
                raise UsageError("--tenants/--seed apply to a scenario, not to a run directory")
            return scenario_from_dict(manifest["scenario"])
        return load_scenario(find_scenario(source), overrides)
    except ScenarioError as error:
        raise UsageError(str(error)) from None


def _cases(args: argparse.Namespace) -> int:
    from ..harness.export import ExportError, export_cases, export_from_scenario
    from ..harness.outputs import OutputError

    if args.sample is not None and args.sample < 1:
        raise UsageError("--sample must be >= 1")
    if args.stratify is not None and args.stratify < 1:
        raise UsageError("--stratify must be >= 1")
    out = Path(args.out)
    try:
        if args.generate is not None:
            from ..harness.casegen import generate_cases

            report = export_cases(generate_cases(args.generate, args.seed or 0), out,
                                  args.sample, args.stratify, args.seed or 0)
        else:
            if args.source is None:
                raise UsageError("name a RUN_DIR or SCENARIO (or --generate N)")
            scenario = _scenario(args.source, args.tenants, args.seed)
            report, _ = export_from_scenario(scenario, out, args.sample, args.stratify,
                                             args.seed or 0)
    except (ExportError, OutputError) as error:
        raise UsageError(str(error)) from None
    if not args.quiet:
        from ..harness.coverage import Coverage

        coverage = Coverage()
        coverage.cases = report["cases"]
        coverage.counts.update(report["rules"])
        print(coverage.table())
        print(f"wrote {report['cases']} cases to {out / 'cases.jsonl'} "
              f"(verdicts in verdicts.jsonl, coverage in coverage.json)")
    return EXIT_OK


def _read_cases(paths: list[str]) -> Iterator[Any]:
    from ..harness.case_files import read_case_file

    for name in paths:
        path = Path(name)
        files = sorted(p for p in path.rglob("*") if p.name.endswith(CASE_SUFFIXES)
                       and not p.name.endswith(".verdict.json")) if path.is_dir() else [path]
        for file in files:
            if file.name in ("verdicts.jsonl", "coverage.json", "summary.json"):
                continue
            yield from read_case_file(file)


def _check(args: argparse.Namespace) -> int:
    from ..harness.adapters import AdapterError, StoredVerdicts, open_adapter
    from ..harness.check import (
        CheckOptions,
        prepare_check_dir,
        read_regression_folder,
        run_check,
    )
    from ..harness.compare import parse_fields
    from ..harness.outputs import OutputError

    for name in args.cases:
        if not Path(name).exists():
            raise UsageError(f"{name}: no such file or directory")
    try:
        fields = parse_fields(args.fields)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.timeout <= 0 or args.concurrency < 1 or args.shrink_budget < 0:
        raise UsageError("--timeout, --concurrency and --shrink-budget must be positive")
    out = Path(args.out)
    regression = (len(args.cases) == 1 and Path(args.cases[0]).is_dir()
                  and any(Path(args.cases[0]).glob("*.verdict.json")))
    try:
        if regression:
            cases, verdicts = read_regression_folder(Path(args.cases[0]))
        else:
            cases = _read_cases(args.cases)
        if args.sut is None and not regression:
            raise UsageError("--sut ADAPTER is needed (cmd:..., http://..., file:...), "
                             "unless CASES is a regression folder of *.case.json/*.verdict.json")
        previous = prepare_check_dir(out)  # before the SUT's stderr lands there
        if args.sut is None:
            adapter = StoredVerdicts(verdicts)
        else:
            (out / "sut.stderr").write_bytes(b"")
            adapter = open_adapter(args.sut, args.timeout, out / "sut.stderr",
                                   args.concurrency)
        options = CheckOptions(fields, args.shrink, args.shrink_budget,
                               Path(args.junit) if args.junit else None,
                               True if args.progress else None,
                               replay=regression and args.sut is not None)
        with adapter:
            result = run_check(cases, adapter, out, options, previous=previous)
    except (AdapterError, OutputError) as error:
        raise UsageError(str(error)) from None
    _print_result(result, out, regression, args.sut is not None)
    return result.exit_status


def _print_result(result: Any, out: Path, regression: bool, replay: bool) -> None:
    summary = result.summary
    if regression and replay:
        for case_id, state in summary.get("replay", {}).items():
            print(f"{state:<14} {case_id}")
    print(f"{result.cases} cases: {result.agreed} agree, {result.disagreements} disagree, "
          f"{result.sut_errors} SUT errors, {result.invalid} invalid")
    for name, count in summary["classes"].items():
        print(f"  {name:<18} {count}")
    for entry in summary["invalid_cases"][:5]:
        print(f"  invalid case {entry.get('case_id')}: {entry.get('error')}", file=sys.stderr)
    if summary["shrunk"]:
        print(f"shrunk {len(summary['shrunk'])} disagreements into {out / 'shrunk'}")
    if result.stopped:
        print(f"stopped: {result.stopped}", file=sys.stderr)
    print(f"details in {out}/ (disagreements.jsonl, summary.json, report.html)")


def register(commands: Any) -> None:
    cases = commands.add_parser(
        "cases", help="export a fleet's requests as cases with the model's verdicts",
        description="Simulate SCENARIO (or the scenario of a finished RUN_DIR) and export "
                    "every change attempt, cancellation and reduction as a case (CASES.md).")
    cases.add_argument("source", nargs="?", metavar="RUN_DIR|SCENARIO")
    cases.add_argument("--out", default="cases", metavar="DIR",
                       help="writes cases.jsonl, verdicts.jsonl, coverage.json (default ./cases)")
    cases.add_argument("--sample", type=int, metavar="N", help="keep N cases (deterministic)")
    cases.add_argument("--stratify", type=int, metavar="K",
                       help="at least K cases of every blocker, account, alignment, kind, "
                            "rounding policy and month-end/leap-day anchor")
    cases.add_argument("--tenants", type=int, help="override run.tenants")
    cases.add_argument("--seed", type=int, help="override run.seed (and the sample seed)")
    cases.add_argument("--generate", type=int, metavar="N",
                       help="export N generated cases instead of a fleet (casegen)")
    cases.add_argument("-q", "--quiet", action="store_true")
    cases.set_defaults(handler=_cases)

    check = commands.add_parser(
        "check", help="check a billing system under test against the model",
        description="Feed cases to a SUT, compare its verdicts with the model's, shrink "
                    "each disagreement (HARNESS.md). Exit 0 all agree, 1 any "
                    "disagreement or SUT error, 2 bad input.")
    check.add_argument("cases", nargs="+", metavar="CASES",
                       help="case files (JSON, JSON Lines) or folders; a folder with "
                            "*.verdict.json beside its cases is a regression folder")
    check.add_argument("--sut", metavar="ADAPTER",
                       help="cmd:COMMAND, http://HOST:PORT/PATH, https://..., file:PATH")
    check.add_argument("--out", default="check", metavar="DIR", help="default ./check")
    check.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    check.add_argument("--fields", help="compare only these fields (comma-separated)")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    check.add_argument("--concurrency", type=int, default=8, help="http: requests in flight")
    check.add_argument("--shrink", action=argparse.BooleanOptionalAction, default=None,
                       help="shrink disagreements (default: on below 200 disagreements)")
    check.add_argument("--shrink-budget", type=int, default=200,
                       help="SUT calls per disagreement")
    check.add_argument("--progress", action="store_true",
                       help="progress on stderr even when it is not a terminal")
    check.set_defaults(handler=_check)
