"""Checking a billing system under test against the model (issue 9, HARNESS.md 1-3).

:func:`run_check` feeds each case to an adapter, compares the SUT's verdict with the
model's (recomputed here, never read from the input) and writes into an output folder:
``disagreements.jsonl``, ``summary.json`` (counts per class and per rule ID), optionally
a JUnit XML file, ``report.html``, and minimal shrunk cases in ``shrunk/``. Everything
streams: memory stays flat however many cases go through.

A regression folder (``*.case.json`` with ``*.verdict.json`` beside them) is checked
against its stored verdicts when no SUT is named, or replayed against a SUT, each case
then reported FIXED or STILL FAILING.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .adapters import Adapter, SutError, SutGaveUp, encode_case
from .case_types import decode_case
from .cases import Case, CaseError, evaluate, evaluate_json, verdict_to_json
from .compare import CLASSES, COMPARED_FIELDS, MalformedVerdict, compare
from .coverage import exercised
from .outputs import OutputError, atomic_text, prepare_out_dir, write_junit, write_report
from .shrink import DEFAULT_BUDGET, shrink

__all__ = ["SHRINK_LIMIT", "CheckOptions", "CheckResult", "prepare_check_dir",
           "read_regression_folder", "run_check"]

SHRINK_LIMIT = 200  # --shrink is on by default below this many disagreements
SUMMARY_TOOL = "planshift check"


class CheckOptions(NamedTuple):
    fields: frozenset[str] = frozenset(COMPARED_FIELDS)
    shrink: bool | None = None  # None: on when disagreements < SHRINK_LIMIT
    shrink_budget: int = DEFAULT_BUDGET
    junit: Path | None = None
    progress: bool | None = None  # None: only when stderr is a terminal
    replay: bool = False  # a regression folder replayed against a SUT: FIXED / STILL FAILING


class CheckResult(NamedTuple):
    cases: int
    agreed: int
    disagreements: int
    sut_errors: int
    invalid: int
    stopped: str | None  # why the check stopped early (the SUT gave up), else None
    summary: dict[str, Any]

    @property
    def exit_status(self) -> int:
        """0 all agree, 1 a disagreement or SUT error, 2 bad input (a case the model rejects)."""
        if self.invalid:
            return 2
        return 1 if (self.disagreements or self.sut_errors or self.stopped) else 0


def _model(raw: Any, line: bytes | None) -> dict[str, Any]:
    """The model's verdict on one case, as :func:`evaluate_json` gives it.

    `line` is the case as one JSON line (what a ``cmd:`` SUT is sent): the typed decoder
    (:mod:`sim.harness.case_types`) reads it when it vouches for it, and anything it
    does not vouch for takes the strict road, so verdicts and error records are the same.
    """
    fields = decode_case(line) if line is not None else None
    if fields is not None:
        try:
            return verdict_to_json(evaluate(Case(*fields)))
        except CaseError:
            pass
    return evaluate_json(raw)


def _items(cases: Iterable[Any], invalid: list[dict[str, Any]], with_lines: bool = False
           ) -> Iterator[tuple[Any, ...]]:
    """(model verdict, case) for every valid case; invalid ones are noted and skipped.

    Each case is encoded once; `with_lines` adds that line to the item, for an adapter
    that sends it as is (:attr:`Adapter.takes_lines`).
    """
    for raw in cases:
        if isinstance(raw, CaseError):
            invalid.append({"case_id": None, "error": str(raw)})
            continue
        try:
            line = encode_case(raw)
        except (TypeError, ValueError):
            line = None
        model = _model(raw, line)
        if "error" in model:
            invalid.append(model)
            continue
        yield (model, raw, line) if with_lines and line is not None else (model, raw)


def _record(model: dict[str, Any], case: dict[str, Any], answer: dict[str, Any] | SutError,
            fields: frozenset[str]) -> dict[str, Any] | None:
    """The disagreement record of one case, or None when the SUT agrees."""
    case_id = model["case_id"]
    if not isinstance(answer, SutError):
        try:
            comparison = compare(model, answer, fields)
        except MalformedVerdict as error:
            answer = SutError(f"malformed verdict: {error}")
        else:
            if comparison.agrees:
                return None
            return {"case_id": case_id, "class": comparison.primary,
                    "classes": list(comparison.classes),
                    "differences": list(comparison.differences),
                    "rules": sorted(exercised(case, model))}
    return {"case_id": case_id, "class": "sut-error", "classes": ["sut-error"],
            "reason": answer.reason, "rules": sorted(exercised(case, model))}


class _Progress:
    def __init__(self, enabled: bool | None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = self.last = time.monotonic()

    def __call__(self, cases: int, disagreements: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 1.0):
            return
        self.last = now
        rate = cases / max(now - self.started, 1e-9)
        end = "\n" if final else "\r"
        sys.stderr.write(f"checked {cases} cases, {disagreements} disagree "
                         f"({rate:,.0f} cases/s){end}")
        sys.stderr.flush()


class _Tally:
    """Counts of the whole check, and the first disagreements kept for shrinking."""

    def __init__(self) -> None:
        self.cases = self.agreed = self.disagreements = self.sut_errors = 0
        self.classes: Counter[str] = Counter()
        self.rules: Counter[str] = Counter()
        self.kept: list[tuple[dict[str, Any], str]] = []  # (case, primary class)
        self.replay: dict[str, str] = {}

    def add(self, case: dict[str, Any], record: dict[str, Any] | None, replay: bool) -> None:
        self.cases += 1
        if record is None:
            self.agreed += 1
        else:
            if record["class"] == "sut-error":
                self.sut_errors += 1
            else:
                self.disagreements += 1
                if len(self.kept) < SHRINK_LIMIT:
                    self.kept.append((case, record["class"]))
            self.classes.update(record["classes"])
            self.rules.update(record["rules"])
        if replay:
            self.replay[case["case_id"]] = "FIXED" if record is None else "STILL FAILING"


def run_check(cases: Iterable[Any], adapter: Adapter, out_dir: Path,
              options: CheckOptions | None = None,
              on_case: Callable[[str, dict[str, Any] | None], None] | None = None,
              previous: dict[str, Any] | bool | None = False) -> CheckResult:
    """Check every case against `adapter`; write the outputs into `out_dir`.

    Raises :class:`OutputError` when `out_dir` holds files that are not a check's. A
    caller that already prepared the folder (:func:`prepare_check_dir`, e.g. to give the
    SUT's stderr a place first) passes the previous summary it got as `previous`.
    """
    options = options or CheckOptions()
    if previous is False:
        previous = prepare_check_dir(out_dir)
    invalid: list[dict[str, Any]] = []
    tally = _Tally()
    progress = _Progress(options.progress)
    stopped = None
    started = time.monotonic()
    disagreements_path = out_dir / "disagreements.jsonl"
    temporary = disagreements_path.with_name(".disagreements.jsonl.tmp")
    junit_cases = temporary.with_name(".junit-cases.tmp") if options.junit else None
    with temporary.open("w", encoding="utf-8") as out, \
            (junit_cases.open("w", encoding="utf-8") if junit_cases else _Null()) as junit:
        try:
            items = _items(cases, invalid, adapter.takes_lines)
            for model, case, answer in adapter.stream(items):
                record = _record(model, case, answer, options.fields)
                tally.add(case, record, options.replay)
                if record is not None:
                    out.write(json.dumps(record, default=str) + "\n")
                if junit_cases is not None:
                    junit.write(json.dumps([model["case_id"], model["kind"], record],
                                           default=str) + "\n")
                if on_case is not None:
                    on_case(model["case_id"], record)
                progress(tally.cases, tally.disagreements + tally.sut_errors)
        except SutGaveUp as error:
            stopped = str(error)
    temporary.replace(disagreements_path)
    progress(tally.cases, tally.disagreements + tally.sut_errors, final=True)
    shrunk = _shrink_all(tally, adapter, out_dir, options, previous)
    summary = {
        "tool": SUMMARY_TOOL, "format": 1, "sut": adapter.name,
        "cases": tally.cases, "agreed": tally.agreed, "disagreements": tally.disagreements,
        "sut_errors": tally.sut_errors, "invalid_cases": invalid[:100],
        "invalid": len(invalid), "stopped": stopped,
        "classes": {name: tally.classes[name] for name in CLASSES if tally.classes[name]},
        "rules": dict(sorted(tally.rules.items())),
        "fields": sorted(options.fields), "shrunk": shrunk,
        "seconds": round(time.monotonic() - started, 3),
    }
    if options.replay:
        summary["replay"] = tally.replay
    result = CheckResult(tally.cases, tally.agreed, tally.disagreements, tally.sut_errors,
                         len(invalid), stopped, summary)
    if junit_cases is not None and options.junit is not None:
        write_junit(options.junit, junit_cases, result.summary)
        junit_cases.unlink()
    write_report(out_dir / "report.html", summary, disagreements_path)
    atomic_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return result


def prepare_check_dir(out_dir: Path) -> dict[str, Any] | None:
    """Create or reuse a check's output folder; the previous check's summary, if any."""
    return prepare_out_dir(out_dir, SUMMARY_TOOL)


class _Null:
    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def write(self, text: str) -> None:
        pass


def _shrink_all(tally: _Tally, adapter: Adapter, out_dir: Path, options: CheckOptions,
                previous: Any) -> list[dict[str, Any]]:
    """Shrink the kept disagreements into ``shrunk/`` (HARNESS.md 3)."""
    folder = out_dir / "shrunk"
    for entry in (previous or {}).get("shrunk") or []:  # only files a check wrote
        for name in entry.get("files", []) if isinstance(entry, dict) else []:
            (folder / Path(str(name)).name).unlink(missing_ok=True)
    wanted = options.shrink if options.shrink is not None else tally.disagreements < SHRINK_LIMIT
    if not wanted or not tally.kept:
        return []
    folder.mkdir(exist_ok=True)
    results = []
    for case, primary in tally.kept:
        try:
            found = shrink(case, primary, adapter, options.shrink_budget, options.fields)
        except SutGaveUp:
            break
        stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in case["case_id"])
        atomic_text(folder / f"{stem}.case.json", json.dumps(found.case, indent=2) + "\n")
        atomic_text(folder / f"{stem}.verdict.json", json.dumps(found.verdict, indent=2) + "\n")
        results.append({"case_id": case["case_id"], "class": primary,
                        "files": [f"shrunk/{stem}.case.json", f"shrunk/{stem}.verdict.json"],
                        "steps": len(found.steps), "sut_calls": found.sut_calls})
    return results


# ---------------------------------------------------------------- regression folders


def read_regression_folder(folder: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The cases of a regression folder and the verdicts stored beside them, by case_id.

    Raises :class:`OutputError` naming the file when a case or verdict is not JSON or a
    case has no verdict beside it.
    """
    cases: list[dict[str, Any]] = []
    verdicts: dict[str, Any] = {}
    files = sorted(folder.glob("*.case.json"))
    if not files:
        raise OutputError(f"{folder}: no *.case.json files")
    for path in files:
        verdict_path = path.with_name(path.name[: -len(".case.json")] + ".verdict.json")
        try:
            case = json.loads(path.read_text(encoding="utf-8"))
            verdict = json.loads(verdict_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise OutputError(f"{verdict_path}: missing (every case needs its verdict)") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise OutputError(f"{path} or its verdict: not JSON ({error})") from None
        cases.append(case)
        case_id = case.get("case_id") if isinstance(case, dict) else None
        if isinstance(case_id, str):
            verdicts[case_id] = verdict
    return cases, verdicts
