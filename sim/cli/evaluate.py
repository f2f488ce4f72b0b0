"""``evaluate``: verdicts for case files (CASES.md), JSON Lines out.

Hostile input costs only itself: a bad line, array element or file becomes an error
record ``{"case_id": ..., "error": "<file or line>: <message>"}`` and every other case
still gets its verdict (exit 1 at the end). Only regular files are read from a
directory: a FIFO, device, directory, dangling symlink or unreadable file named like a
case file is an error record naming its path, never a hang. ``--out`` is written
atomically (a temporary file beside it, then a rename) and is refused (exit 2, nothing
written) when it is one of the inputs or would be read as one.

JSON Lines take a typed fast road first (:func:`sim.harness.case_render.evaluate_line`,
issue 11); a line it declines goes the strict road (strict JSON, the hand validator),
so verdicts, error records and their bytes are the same either way. JSON Lines are read
and written about a MiB at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple, TextIO

from .common import EXIT_FINDING, EXIT_OK, UsageError

CASE_SUFFIXES = (".case.json", ".jsonl", ".cases.json")
BATCH = 1000  # verdict lines per write (outside JSON Lines, which go a batch at a time)
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class Source(NamedTuple):
    """One input: `path` None is stdin; `problem` set means report it, do not read."""

    name: str
    path: Path | None
    problem: str | None = None
    from_directory: bool = False


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _directory_sources(name: str, root: Path) -> list[Source]:
    """Case files under `root` (sorted; symlinked directories are not followed)."""
    found: list[Source] = []

    def unreadable(error: OSError) -> None:
        found.append(Source(error.filename, None, f"cannot read directory: {error.strerror}"))

    for folder, _dirs, files in os.walk(root, onerror=unreadable):
        for file in files:
            if file.endswith(CASE_SUFFIXES):
                found.append(Source(os.path.join(folder, file), Path(folder, file),
                                    from_directory=True))
        found.extend(Source(os.path.join(folder, sub), None, "a directory named like a "
                            "case file") for sub in _dirs if sub.endswith(CASE_SUFFIXES))
    checked = []
    for source in found:
        if source.path is not None:
            try:
                mode = os.stat(source.path).st_mode  # follows symlinks to their target
            except OSError as error:
                problem = ("a dangling symlink" if os.path.islink(source.path)
                           else f"cannot read: {error.strerror}")
                source = source._replace(path=None, problem=problem)
            else:
                if not stat.S_ISREG(mode):
                    source = source._replace(path=None, problem=f"{_kind(mode)}, not a "
                                             "regular file: not read")
        checked.append(source)
    if not checked:
        raise UsageError(f"{name}: no case files (*.case.json, *.jsonl) in directory")
    return sorted(checked, key=lambda source: source.name)


def _case_sources(paths: Sequence[str]) -> tuple[list[Source], list[Path]]:
    """Every input (files, directories of case files, or '-' for stdin) and the
    directories among them.

    Every path is checked before anything is evaluated, so a typo costs no output. A
    file named on the command line may be a FIFO (``<(generate)``); devices may not.
    """
    sources: list[Source] = []
    roots: list[Path] = []
    for name in paths:
        if name == "-":
            sources.append(Source("<stdin>", None))
            continue
        try:
            mode = os.stat(name).st_mode
        except OSError as error:
            if isinstance(error, FileNotFoundError):
                raise UsageError(f"{name}: no such file or directory") from None
            raise UsageError(f"{name}: cannot read: {error.strerror}") from None
        if stat.S_ISDIR(mode):
            sources.extend(_directory_sources(name, Path(name)))
            roots.append(Path(os.path.realpath(name)))
        elif stat.S_ISREG(mode) or stat.S_ISFIFO(mode):
            sources.append(Source(name, Path(name)))
        else:
            raise UsageError(f"{name}: {_kind(mode)}, not a case file")
    return sources, roots


def _open_input(source: Source) -> IO[bytes]:
    """Open a case file; one found in a directory never blocks (a FIFO swapped in)."""
    assert source.path is not None
    if not source.from_directory:
        return source.path.open("rb")
    descriptor = os.open(source.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(0, f"{_kind(mode)}, not a regular file: not read")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _read_source(source: Source, position: Any) -> Iterator[Any]:
    from ..harness.case_files import InputError, read_case_stream, read_cases

    if source.problem is not None:
        yield InputError(f"{source.name}: {source.problem}")
        return
    if source.path is None:
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:  # a text stream without bytes underneath (tests, embedding)
            yield from read_cases(sys.stdin.read(), source.name, position)
        else:
            yield from read_case_stream(buffer, source.name, position, raw_lines=True)
        return
    try:
        with _open_input(source) as handle:
            yield from read_case_stream(handle, source.name, position, raw_lines=True)
    except OSError as error:
        yield InputError(f"{source.name}: cannot read: {error.strerror or error}")


def _report(record: dict[str, Any], position: Any) -> None:
    """One stderr line per error record, naming the case or (when it has no id) the
    line or element it came from; the record itself keeps the CASES.md form."""
    if record["case_id"] is not None:
        where = f"{record['case_id']}: "
    else:
        where = f"{position}: " if position is not None else ""
    print(f"error: {where}{record['error']}", file=sys.stderr)


def _error_record(case_id: Any, message: str) -> dict[str, Any]:
    return {"case_id": case_id if isinstance(case_id, str) else None, "error": message}


class _Run:
    """Counts and verdict lines of one ``evaluate`` run; lines are written BATCH at a time."""

    def __init__(self, write: Any, quiet: bool) -> None:
        from ..harness.case_files import decode_line
        from ..harness.case_render import evaluate_line
        from ..harness.cases import CaseError, evaluate_json

        self.write, self.quiet = write, quiet
        self.decode_line, self.evaluate_line = decode_line, evaluate_line
        self.error_type, self.evaluate_json = CaseError, evaluate_json
        self.errors = self.total = 0
        self.batch: list[str] = []

    def strict(self, raw: Any, position: Any) -> None:
        """One decoded item (a case object or an InputError) down the strict road."""
        self.total += 1
        if isinstance(raw, self.error_type):
            record = _error_record(getattr(raw, "case_id", None), str(raw))
            position = None
        else:
            try:
                record = self.evaluate_json(raw)
            except Exception as error:  # a defect, reported per case, never a crash
                record = _error_record(raw.get("case_id") if isinstance(raw, dict) else None,
                                       f"internal error: {type(error).__name__}: {error}")
        if "error" in record:
            self.errors += 1
            if not self.quiet:
                _report(record, position)
        self.batch.append(json.dumps(record, separators=(", ", ": ")))

    def lines(self, first: int, lines: list[bytes], position: Any) -> None:
        """JSON Lines from line `first` on: the typed road, or else the strict one."""
        evaluate_line, append = self.evaluate_line, self.batch.append
        fast = 0
        for number, line in enumerate(lines, first):
            try:
                text = evaluate_line(line)
            except Exception:  # the strict road reports it
                text = None
            if text is not None:
                fast += 1
                append(text)
            elif line.strip():  # blank lines are no case
                position.line = number
                self.strict(self.decode_line(line, position.source, number), position)
        self.total += fast
        self.flush()

    def flush(self) -> None:
        if self.batch:
            self.batch.append("")  # the last line's newline, without copying the batch
            self.write("\n".join(self.batch))
            self.batch.clear()


def _evaluate(args: argparse.Namespace) -> int:
    from ..harness.case_files import LineBatch, Position

    sources, roots = _case_sources(args.cases)  # a bad path fails before any output
    target = None if args.out in (None, "-") else _check_out(args.out, sources, roots)
    out: TextIO | _AtomicOut = sys.stdout if target is None else _AtomicOut(target)
    run = _Run(out.write, args.quiet)
    try:
        for source in sources:
            position = Position(source.name)
            for item in _read_source(source, position):
                if type(item) is LineBatch:
                    run.lines(item.first, item.lines, position)
                else:
                    run.strict(item, position)
                    if len(run.batch) >= BATCH:
                        run.flush()
        run.flush()
    except BaseException:
        if isinstance(out, _AtomicOut):
            out.discard()
        raise
    if isinstance(out, _AtomicOut):
        out.commit()
    if not args.quiet:
        print(f"{run.total} case(s), {run.total - run.errors} verdict(s), "
              f"{run.errors} error(s)", file=sys.stderr)
    return EXIT_FINDING if run.errors else EXIT_OK


# -------------------------------------------------------------------------------- --out


def _identity(path: str | Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _check_out(name: str, sources: Sequence[Source], roots: Sequence[Path]) -> Path:
    """The --out path, refused (UsageError) if writing it would clobber or feed an input."""
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"--out {name}: is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"--out {name}: directory {parent} does not exist")
    real = Path(os.path.realpath(path))
    identity = _identity(path)
    for source in sources:
        if source.path is None and source.problem is None:  # stdin
            same = identity is not None and _stdin_identity() == identity
        else:
            same = source.path is not None and (
                Path(os.path.realpath(source.path)) == real
                or (identity is not None and _identity(source.path) == identity))
        if same:
            raise UsageError(f"--out {name}: is the input {source.name}; refusing to "
                             "write over it (nothing written)")
    for root in roots:
        if real.name.endswith(CASE_SUFFIXES) and real.is_relative_to(root):
            raise UsageError(f"--out {name}: lies in the input directory {root} and is "
                             "named like a case file, so it would be read as input")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--out {name}: directory {parent} is not writable")
    return path


def _stdin_identity() -> tuple[int, int] | None:
    try:
        info = os.fstat(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_dev, info.st_ino


class _AtomicOut:
    """Verdicts written to a temporary file beside `target`, renamed over it at the end.

    An interrupted or failed run leaves `target` as it was (never a truncated file).
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        try:
            descriptor, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        except OSError as error:
            raise UsageError(f"--out {target}: cannot write in {target.parent}: "
                             f"{error.strerror}") from None
        self.temporary = Path(temporary)
        self.handle = os.fdopen(descriptor, "w", encoding="utf-8")
        self.write = self.handle.write

    def commit(self) -> None:
        self.handle.close()
        try:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(self.temporary, 0o666 & ~mask)
            os.replace(self.temporary, self.target)
        except OSError as error:
            self.discard()
            raise UsageError(f"--out {self.target}: cannot write: {error.strerror}") from None

    def discard(self) -> None:
        self.handle.close()
        self.temporary.unlink(missing_ok=True)


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
    evaluate.add_argument("--out", metavar="FILE",
                          help="write verdicts here (default stdout); written atomically, "
                               "never over an input")
    evaluate.add_argument("-q", "--quiet", action="store_true",
                          help="no per-error messages or summary on stderr")
    evaluate.set_defaults(handler=_evaluate)
