"""``cases`` and ``check``: the QA harness (issue 9, HARNESS.md).

``cases RUN_DIR|SCENARIO`` exports a simulated fleet's requests as cases with the
model's verdicts and rule coverage; ``check CASES --sut ADAPTER`` feeds them to a
billing system under test, writes every disagreement and shrinks it to a minimal case.
``check DIR`` on a regression folder checks its stored verdicts (no ``--sut``) or
replays it against a SUT, each case FIXED or STILL FAILING.
"""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .common import EXIT_OK, UsageError, find_scenario

CASE_SUFFIXES = (".case.json", ".jsonl", ".cases.json", ".json")
MAX_GENERATED = 1_000_000  # cases --generate: about 0.4 ms each, so minutes at most
# The files a check writes into its --out folder (a --junit path must not be one of them).
CHECK_FILES = ("disagreements.jsonl", "summary.json", "report.html", "sut.stderr",
               ".disagreements.jsonl.tmp", ".junit-cases.tmp")


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
            try:
                return scenario_from_dict(manifest["scenario"])
            except ScenarioError as error:  # a damaged manifest: name it
                raise UsageError(f"{path / 'manifest.json'}: scenario.{error}") from None
        return load_scenario(find_scenario(source), overrides)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    except OSError as error:  # e.g. a name too long for the file system
        raise UsageError(f"{_short(source)}: {error.strerror or error}") from None


def _short(name: str, limit: int = 120) -> str:
    """`name` cut to `limit` characters for a one-line message."""
    return name if len(name) <= limit else f"{name[:limit]}... ({len(name)} characters)"


def _cases(args: argparse.Namespace) -> int:
    from ..harness.export import ExportError, export_cases, export_from_scenario
    from ..harness.outputs import OutputError

    if args.sample is not None and args.sample < 1:
        raise UsageError("--sample must be >= 1")
    if args.stratify is not None and args.stratify < 1:
        raise UsageError("--stratify must be >= 1")
    if args.generate is not None and not 1 <= args.generate <= MAX_GENERATED:
        raise UsageError(f"--generate must be between 1 and {MAX_GENERATED:,}, "
                         f"got {args.generate}")
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
                       and not p.name.endswith(".verdict.json")
                       and p.is_file()) if path.is_dir() else [path]  # never a FIFO
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

    _check_inputs(args.cases)
    try:
        fields = parse_fields(args.fields)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.fields is not None and not fields:
        raise UsageError(f"--fields {args.fields!r}: names no field (comma-separated names)")
    if not (math.isfinite(args.timeout) and args.timeout > 0) or args.concurrency < 1 \
            or args.shrink_budget < 0:
        raise UsageError("--timeout, --concurrency and --shrink-budget must be positive "
                         "(and --timeout finite)")
    if args.sut is not None:
        _check_sut(args.sut)
    out = Path(args.out)
    if args.junit is not None:
        _check_junit(args.junit, out, args.cases + ([args.sut[5:]] if args.sut
                                                    and args.sut.startswith("file:") else []))
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


def _check_inputs(names: list[str]) -> None:
    """Every CASES argument exists and is a regular file or a folder (a FIFO would block)."""
    for name in names:
        path = Path(name)
        try:
            if not path.exists():
                raise UsageError(f"{_short(name)}: no such file or directory")
            if not (path.is_file() or path.is_dir()):
                raise UsageError(f"{_short(name)}: not a regular file or a folder of cases")
        except OSError as error:
            raise UsageError(f"{_short(name)}: {error.strerror or error}") from None


def _check_sut(text: str) -> None:
    """Refuse an adapter that cannot work before any case is read (HARNESS.md 1): a
    command that does not parse or is not an executable program, a URL without a valid
    port, a verdict file that is not a regular file."""
    scheme, _, rest = text.partition(":")
    if scheme == "cmd" and rest.strip():
        try:
            argv = shlex.split(rest)
        except ValueError as error:
            raise UsageError(f"--sut {text!r}: cannot parse the command ({error})") from None
        if argv and shutil.which(argv[0]) is None:
            what = ("not an executable file" if Path(argv[0]).is_file() else
                    "no such program")
            raise UsageError(f"--sut {text!r}: {argv[0]}: {what}")
    elif scheme in ("http", "https"):
        try:
            urlsplit(text).port  # noqa: B018 (raises ValueError on a bad port)
        except ValueError as error:
            raise UsageError(f"--sut {text!r}: not a valid URL ({error})") from None
    elif scheme == "file" and rest:
        path = Path(rest)
        if path.exists() and not path.is_file():
            raise UsageError(f"--sut {text!r}: {rest}: not a regular file of verdicts")


def _check_junit(name: str, out: Path, inputs: list[str]) -> None:
    """--junit FILE is new, or a JUnit file a previous check wrote: never an input, a
    folder, a check's own output file, or someone's file."""
    path = Path(name)
    if not name:
        raise UsageError("--junit: empty path")
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise UsageError(f"--junit {name}: is a folder or a special file, not a file")
    resolved = path.resolve()
    if not (resolved.parent.is_dir() or resolved.parent == out.resolve()):  # --out: made later
        raise UsageError(f"--junit {name}: no such folder {path.absolute().parent}")
    if any(Path(other).resolve() == resolved for other in inputs):
        raise UsageError(f"--junit {name}: is one of the inputs; refusing to write over it")
    if resolved.parent == out.resolve() and path.name in CHECK_FILES:
        raise UsageError(f"--junit {name}: the check writes its own {path.name} there; "
                         "choose another name")
    if path.is_file():
        with path.open("rb") as handle:
            head = handle.read(400)
        if b'<testsuite name="planshift check"' not in head:
            raise UsageError(f"--junit {name}: exists and is not a JUnit file of a previous "
                             "planshift check; refusing to write over it")


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
