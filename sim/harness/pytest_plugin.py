"""pytest plugin: one test item per case, so QA teams check a SUT inside their own suites.

    pytest --planshift-cases DIR --planshift-sut cmd:./my-billing --serve

collects every case of ``DIR`` (``*.case.json`` files, or JSON Lines ``*.jsonl``) as a
test item named by its case_id, so pytest's own ``--junitxml``, ``-k`` and ``-x`` apply.
An item passes when the SUT's verdict agrees with the model's (HARNESS.md section 2);
it fails with the disagreement's classes and differing fields. Without
``--planshift-sut`` the verdicts stored beside the cases (``*.verdict.json``) are checked
against the model: a regression folder. Registered through the ``pytest11`` entry point;
the plugin does nothing unless ``--planshift-cases`` is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .adapters import DEFAULT_TIMEOUT, Adapter, AdapterError, SutError, open_adapter
from .cases import evaluate_json
from .compare import MalformedVerdict, compare

_ADAPTER_KEY = pytest.StashKey[Adapter]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("planshift", "planshift QA harness (HARNESS.md)")
    group.addoption("--planshift-cases", metavar="DIR",
                    help="collect one test item per case of DIR (*.case.json, *.jsonl)")
    group.addoption("--planshift-sut", metavar="ADAPTER",
                    help="the system under test: cmd:..., http://..., file:...; without "
                         "it, stored *.verdict.json files are checked against the model")
    group.addoption("--planshift-timeout", type=float, default=DEFAULT_TIMEOUT,
                    help="seconds per case (default 10)")


class CaseDisagreement(Exception):
    """The SUT's verdict (or a stored one) disagrees with the model's."""


def _load_cases(folder: Path) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(case, stored verdict or None) for every case of `folder`, in file order."""
    found: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for path in sorted(folder.rglob("*.case.json")):
        verdict_path = path.with_name(path.name[: -len(".case.json")] + ".verdict.json")
        stored = (json.loads(verdict_path.read_text(encoding="utf-8"))
                  if verdict_path.is_file() else None)
        found.append((json.loads(path.read_text(encoding="utf-8")), stored))
    for path in sorted(folder.rglob("*.jsonl")):
        if path.name == "verdicts.jsonl":
            continue
        with path.open(encoding="utf-8") as handle:
            found.extend((json.loads(line), None) for line in handle if line.strip())
    return found


class CaseItem(pytest.Item):
    """One case checked against the SUT (or its stored verdict) and the model."""

    def __init__(self, *, case: dict[str, Any], stored: dict[str, Any] | None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.stored = stored

    def runtest(self) -> None:
        model = evaluate_json(self.case)
        if "error" in model:
            raise CaseDisagreement(f"invalid case: {model['error']}")
        adapter = self.config.stash.get(_ADAPTER_KEY, None)
        if adapter is not None:
            answer: Any = adapter.ask(self.case)
        elif self.stored is not None:
            answer = self.stored
        else:
            raise CaseDisagreement("no --planshift-sut and no stored verdict beside the case")
        if isinstance(answer, SutError):
            raise CaseDisagreement(f"sut-error: {answer.reason}")
        try:
            comparison = compare(model, answer)
        except MalformedVerdict as error:
            raise CaseDisagreement(f"sut-error: malformed verdict: {error}") from None
        if not comparison.agrees:
            details = "\n".join(f"  {d['field']}: model {d['model']!r}, SUT {d['sut']!r}"
                                for d in comparison.differences)
            raise CaseDisagreement(f"{', '.join(comparison.classes)}\n{details}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, CaseDisagreement):
            return f"case {self.name}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"planshift case {self.name}"


def pytest_configure(config: pytest.Config) -> None:
    sut = config.getoption("planshift_sut")
    if config.getoption("planshift_cases") and sut:
        try:
            config.stash[_ADAPTER_KEY] = open_adapter(sut, config.getoption("planshift_timeout"))
        except AdapterError as error:
            raise pytest.UsageError(str(error)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    adapter = config.stash.get(_ADAPTER_KEY, None)
    if adapter is not None:
        adapter.close()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Add the case items before pytest's own -k / -m selection runs."""
    folder = config.getoption("planshift_cases")
    if not folder:
        return
    path = Path(folder)
    if not path.is_dir():
        raise pytest.UsageError(f"--planshift-cases {folder}: not a directory")
    try:
        cases = _load_cases(path)
    except (OSError, ValueError) as error:
        raise pytest.UsageError(f"--planshift-cases {folder}: {error}") from None
    for case, stored in cases:
        name = str(case.get("case_id")) if isinstance(case, dict) else "?"
        items.append(CaseItem.from_parent(session, name=name, case=case, stored=stored,
                                          path=path))
