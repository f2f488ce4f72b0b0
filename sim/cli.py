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


def _case_files(paths: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(source name, text) for every input: files, directories of case files, or '-'."""
    for name in paths:
        if name == "-":
            yield "<stdin>", sys.stdin.read()
            continue
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.name.endswith(CASE_SUFFIXES))
            if not found:
                raise UsageError(f"{name}: no case files (*.case.json, *.jsonl) in directory")
            for file in found:
                yield str(file), file.read_text(encoding="utf-8")
        elif path.is_file():
            try:
                yield name, path.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise UsageError(f"{name}: not UTF-8 text ({error.reason})") from None
        else:
            raise UsageError(f"{name}: no such file or directory")


def _evaluate(args: argparse.Namespace) -> int:
    from .cases import CaseError, evaluate_json, read_cases

    sources = list(_case_files(args.cases))  # fail on a bad path before writing anything
    out: TextIO
    out = sys.stdout if args.out in (None, "-") else _open_out(args.out)
    errors = total = 0
    try:
        for source, text in sources:
            for raw in read_cases(text, source):
                total += 1
                if isinstance(raw, CaseError):
                    record: dict[str, Any] = {"case_id": None, "error": str(raw)}
                else:
                    record = evaluate_json(raw)
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
    from .catalog import builtin_catalog

    catalog = builtin_catalog()
    if args.plan not in catalog.plans:
        raise UsageError(f"unknown plan {args.plan!r}; known: {', '.join(catalog.plans)}")
    for plan in catalog.automatic_targets(args.plan):
        print(f"{plan.id}\t{plan.name}")
    return EXIT_OK


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

    targets = commands.add_parser(
        "targets", help="list the automatic-change targets of a plan (R-ELIG-13)")
    targets.add_argument("plan", help="plan id, e.g. BUSINESS_BASIC")
    targets.set_defaults(handler=_targets)
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
        if args.command is None:
            parser.print_help()
            return EXIT_OK
        return args.handler(args)
    except UsageError as error:
        print(f"run_sim.py: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
