"""``cases`` and ``check`` on the command line, regression folders, the pytest plugin and
the published JSON Schemas (issue 9 items 3, 6, 7)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from sim.cli import main
from sim.harness.casegen import generate_cases
from sim.harness.cases import evaluate_json
from sim.harness.schema import SCHEMA_FILES, render

ROOT = Path(__file__).resolve().parent.parent
SUT = ROOT / "examples" / "sut" / "sut.py"
CASES_DIR = ROOT / "scenarios" / "cases"


def sut(*bugs: str) -> str:
    return f"cmd:{sys.executable} {SUT} --serve-stdin " + " ".join(f"--bug {b}" for b in bugs)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "cases"
    assert main(["cases", "--generate", "1500", "--seed", "4", "--stratify", "4", "--out",
                 str(out), "-q"]) == 0
    return out


def test_cases_writes_cases_verdicts_and_coverage(exported):
    cases = [json.loads(line) for line in (exported / "cases.jsonl").open()]
    verdicts = [json.loads(line) for line in (exported / "verdicts.jsonl").open()]
    coverage = json.loads((exported / "coverage.json").read_text())
    assert len(cases) == len(verdicts) == coverage["cases"] > 0
    # The exported verdicts are what `evaluate` says of the exported cases.
    assert verdicts == [evaluate_json(case) for case in cases]
    assert coverage["tool"] == "planshift cases" and "R-AUTO-06" in coverage["unexercised"]


def test_check_exit_codes_outputs_and_junit(exported, tmp_path, capsys):
    out = tmp_path / "check"
    junit = tmp_path / "junit.xml"
    status = main(["check", str(exported / "cases.jsonl"), "--sut", sut(), "--out", str(out),
                   "--junit", str(junit)])
    assert status == 0, capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["disagreements"] == 0 and summary["agreed"] == summary["cases"]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert len(suite.findall("testcase")) == summary["cases"]
    assert suite.get("failures") == "0"
    status = main(["check", str(exported / "cases.jsonl"), "--sut",
                   sut("billing-days-off-by-one"), "--out", str(out), "--junit", str(junit),
                   "--no-shrink"])
    assert status == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["classes"]["span"] > 0 and summary["rules"]["P-CAL-04"] > 0
    failures = ET.parse(junit).getroot().findall(".//failure")
    assert len(failures) == summary["disagreements"] and failures[0].get("type") == "span"
    assert "<html>" in (out / "report.html").read_text()


def test_check_refuses_a_folder_of_user_files(exported, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    status = main(["check", str(exported / "cases.jsonl"), "--sut", sut(), "--out",
                   str(tmp_path)])
    assert status == 2 and "choose a new directory" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("argv, message", [
    (["--sut", "ftp://nowhere"], "expected cmd:"),
    ([], "--sut ADAPTER is needed"),
    (["--sut", "cmd:x", "--fields", "net,price"], "unknown field price"),
])
def test_check_bad_usage_exits_2(exported, tmp_path, capsys, argv, message):
    status = main(["check", str(exported / "cases.jsonl"), "--out", str(tmp_path / "o"),
                   *argv])
    assert status == 2 and message in capsys.readouterr().err


def test_an_invalid_case_is_bad_input_exit_2_and_the_others_still_run(tmp_path, capsys):
    cases = [c for c in generate_cases(20, seed=1) if "error" not in evaluate_json(c)][:5]
    cases[2]["tenant"]["billing_account"] = "EA"
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    assert main(["check", str(path), "--sut", sut(), "--out", str(tmp_path / "o")]) == 2
    summary = json.loads((tmp_path / "o/summary.json").read_text())
    assert summary["agreed"] == 4 and summary["invalid"] == 1
    assert "billing_account" in summary["invalid_cases"][0]["error"]


def test_shrunk_cases_become_a_regression_folder(tmp_path, capsys):
    cases = [c for c in generate_cases(800, seed=11) if "error" not in evaluate_json(c)]
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    out = tmp_path / "check"
    assert main(["check", str(path), "--sut", sut("ignore-blocking-addon"), "--out",
                 str(out)]) == 1
    shrunk = out / "shrunk"
    files = sorted(p.name for p in shrunk.iterdir())
    assert files and len(files) % 2 == 0
    capsys.readouterr()
    # Stored verdicts against the model (no --sut): they are the model's, so all agree.
    assert main(["check", str(shrunk), "--out", str(tmp_path / "r1")]) == 0
    # Replayed against the still-buggy SUT, then against the fixed one.
    assert main(["check", str(shrunk), "--sut", sut("ignore-blocking-addon"), "--out",
                 str(tmp_path / "r2"), "--no-shrink"]) == 1
    assert "STILL FAILING" in capsys.readouterr().out
    assert main(["check", str(shrunk), "--sut", sut(), "--out", str(tmp_path / "r3")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("FIXED") for line in lines) == len(files) // 2


def test_the_project_regression_folder_checks_against_the_model(tmp_path):
    assert main(["check", str(CASES_DIR), "--out", str(tmp_path / "o")]) == 0


# --------------------------------------------------------------------- pytest plugin


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    installed = any(e.value == "sim.harness.pytest_plugin"
                    for e in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "sim.harness.pytest_plugin"]
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin,
                           *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_pytest_plugin_collects_one_item_per_case(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    for case in [c for c in generate_cases(40, seed=2) if "error" not in evaluate_json(c)][:6]:
        (folder / f"{case['case_id']}.case.json").write_text(json.dumps(case))
    junit = tmp_path / "junit.xml"
    result = _pytest("--planshift-cases", str(folder), "--planshift-sut", sut(),
                     "--junitxml", str(junit), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(ET.parse(junit).getroot().findall(".//testcase")) == 6
    result = _pytest("--planshift-cases", str(folder), "--planshift-sut",
                     sut("billing-days-off-by-one"), "-x", cwd=tmp_path)
    assert result.returncode == 1 and "1 failed" in result.stdout
    # The first failing case names its classes (span, or overlap-cost for a late cancel).
    assert re.search(r"case c-\d+: (span|overlap-cost)", result.stdout), result.stdout


def test_pytest_plugin_checks_stored_verdicts_without_a_sut(tmp_path):
    result = _pytest("--planshift-cases", str(CASES_DIR), "-k", "elig", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    elig = len(list(CASES_DIR.glob("elig-*.case.json")))
    assert f"{elig} passed" in result.stdout and "deselected" in result.stdout


# ---------------------------------------------------------------------- JSON Schema


def test_published_schemas_are_current():
    for name in SCHEMA_FILES:
        assert (ROOT / "docs" / "schema" / name).read_text() == render(name), \
            f"run: python -m sim.harness.schema docs/schema ({name} is stale)"


def _validate(value, schema, path="$"):
    """A small JSON Schema subset validator (no library here): the keywords we publish."""
    if "const" in schema and value != schema["const"]:
        return f"{path}: not {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: {value!r} not in enum"
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    checks = {"string": str, "boolean": bool, "object": dict, "array": list, "null": type(None)}
    if kinds and not any((k == "integer" and type(value) is int) or
                         (k in checks and isinstance(value, checks[k])) for k in kinds):
        return f"{path}: {type(value).__name__} is not {kinds}"
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"],
                                                                        value):
        return f"{path}: {value!r} does not match"
    if type(value) is int and value < schema.get("minimum", value):
        return f"{path}: below minimum"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return f"{path}.{key}: required"
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key)
            if sub is None:
                sub = schema.get("additionalProperties", True)
                if sub is False:
                    return f"{path}.{key}: not allowed"
            if isinstance(sub, dict) and (error := _validate(item, sub, f"{path}.{key}")):
                return error
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{path}: too few items"
        for index, item in enumerate(value):
            if error := _validate(item, schema.get("items", {}), f"{path}[{index}]"):
                return error
    return None


def test_schemas_accept_every_valid_case_and_verdict_and_reject_unknown_fields():
    case_schema = json.loads(render("case.schema.json"))
    verdict_schema = json.loads(render("verdict.schema.json"))
    cases = [json.loads(p.read_text()) for p in sorted(CASES_DIR.glob("*.case.json"))]
    cases += [c for c in generate_cases(300, seed=8) if "error" not in evaluate_json(c)]
    for case in cases:
        assert _validate(case, case_schema) is None, case["case_id"]
        assert _validate(evaluate_json(case), verdict_schema) is None, case["case_id"]
    bad = dict(cases[0], tenant=dict(cases[0]["tenant"], sector="commercial"))
    assert _validate(bad, case_schema) == "$.tenant.sector: not allowed"
    bad = dict(cases[0], request=dict(cases[0]["request"], kind="upgrade"))
    assert "enum" in _validate(bad, case_schema)
