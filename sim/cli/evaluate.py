"""``evaluate``: verdicts for case files (CASES.md), JSON Lines out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .common import EXIT_FINDING, EXIT_OK, UsageError

CASE_SUFFIXES = (".case.json", ".jsonl", ".cases.json")


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
    from ..harness.cases import read_case_file, read_cases

    if path is None:
        yield from read_cases(sys.stdin.read(), name)
        return
    yield from read_case_file(path)


def _evaluate(args: argparse.Namespace) -> int:
    from ..harness.cases import CaseError, evaluate_json

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



def register(commands: Any) -> None:
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

