"""The command line: ``python run_sim.py evaluate CASES`` (CASES.md "Commands").

Exit status: 0 all verdicts, 1 some case was malformed, 2 bad arguments; no Python
traceback reaches the user for bad input.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_case

from sim.cli import main

REPO = Path(__file__).resolve().parent.parent


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_evaluate_single_json_file(tmp_path, capsys):
    """One JSON case in a file: one verdict on stdout, exit 0."""
    path = write_json(tmp_path / "one.case.json", make_case())
    assert main(["evaluate", str(path)]) == 0
    out, err = capsys.readouterr()
    (verdict,) = records(out)
    assert verdict["case_id"] == "c-1"
    assert verdict["automatic_allowed"] is True
    # P-CHG-03 (MOSA new-term): credit -30.97, charge 125.00, net 94.03
    assert verdict["net"] == "94.03"
    assert "1 case(s), 1 verdict(s), 0 error(s)" in err


def test_evaluate_json_array(tmp_path, capsys):
    """A JSON array of cases: one verdict per case, in order."""
    cases = [make_case(case_id=f"c-{n}") for n in range(3)]
    cases[1]["tenant"]["billing_account"] = "MCA"
    path = write_json(tmp_path / "many.cases.json", cases)
    assert main(["evaluate", str(path)]) == 0
    out, _ = capsys.readouterr()
    verdicts = records(out)
    assert [v["case_id"] for v in verdicts] == ["c-0", "c-1", "c-2"]
    assert [v["alignment"] for v in verdicts] == ["new-term", "keep-cycle", "new-term"]


def test_evaluate_json_lines_with_bad_line(tmp_path, capsys):
    """JSON Lines with one non-JSON line: an error record for it, the other verdicts are
    still written, exit 1."""
    lines = [json.dumps(make_case(case_id="a")), "{not json", json.dumps(make_case(case_id="b"))]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["evaluate", str(path)]) == 1
    out, err = capsys.readouterr()
    first, bad, last = records(out)
    assert first["case_id"] == "a" and "error" not in first
    assert bad["case_id"] is None
    assert "cases.jsonl:2" in bad["error"]
    assert "invalid JSON" in bad["error"]
    assert last["case_id"] == "b" and "error" not in last
    assert "3 case(s), 2 verdict(s), 1 error(s)" in err
    assert "Traceback" not in err


def test_evaluate_invalid_case_is_error_record(tmp_path, capsys):
    """A case failing validation: error record naming the field path, exit 1."""
    bad = make_case(case_id="bad")
    bad["tenant"]["subscriptions"][0]["term"] = "P2Y"
    path = write_json(tmp_path / "mix.cases.json", [make_case(), bad])
    assert main(["evaluate", str(path)]) == 1
    out, err = capsys.readouterr()
    good, error = records(out)
    assert "error" not in good
    assert error == {"case_id": "bad",
                     "error": "tenant.subscriptions[0].term: 'P2Y' is not one of P1M, P1Y, P3Y"}
    assert "bad" in err


def test_evaluate_out_file(tmp_path, capsys):
    """``--out FILE`` writes the verdicts there, nothing on stdout."""
    path = write_json(tmp_path / "one.case.json", make_case())
    out_file = tmp_path / "verdicts.jsonl"
    assert main(["evaluate", str(path), "--out", str(out_file)]) == 0
    out, _ = capsys.readouterr()
    assert out == ""
    (verdict,) = records(out_file.read_text(encoding="utf-8"))
    assert verdict["case_id"] == "c-1"


def test_evaluate_out_in_missing_directory(tmp_path, capsys):
    """``--out`` into a directory that does not exist is a usage error (exit 2)."""
    path = write_json(tmp_path / "one.case.json", make_case())
    assert main(["evaluate", str(path), "--out", str(tmp_path / "nope" / "v.jsonl")]) == 2
    _, err = capsys.readouterr()
    assert "does not exist" in err
    assert "Traceback" not in err


def test_evaluate_directory(tmp_path, capsys):
    """A directory is searched for *.case.json and *.jsonl files (sorted); others ignored."""
    write_json(tmp_path / "b.case.json", make_case(case_id="from-b"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.jsonl").write_text(
        json.dumps(make_case(case_id="from-c")) + "\n", encoding="utf-8")
    write_json(tmp_path / "a.case.json", make_case(case_id="from-a"))
    write_json(tmp_path / "notes.json", make_case(case_id="ignored"))
    assert main(["evaluate", str(tmp_path)]) == 0
    out, _ = capsys.readouterr()
    assert [v["case_id"] for v in records(out)] == ["from-a", "from-b", "from-c"]


def test_evaluate_empty_directory(tmp_path, capsys):
    """A directory without case files is a usage error (exit 2)."""
    assert main(["evaluate", str(tmp_path)]) == 2
    _, err = capsys.readouterr()
    assert "no case files" in err


def test_evaluate_stdin(monkeypatch, capsys):
    """``-`` reads cases from standard input."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(make_case(case_id="stdin"))))
    assert main(["evaluate", "-", "-q"]) == 0
    out, err = capsys.readouterr()
    assert [v["case_id"] for v in records(out)] == ["stdin"]
    assert err == ""  # --quiet: no summary


def test_evaluate_missing_file(tmp_path, capsys):
    """A missing file: exit 2, a one-line message, no traceback, nothing written."""
    missing = tmp_path / "nope.json"
    assert main(["evaluate", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{missing}: no such file or directory" in err
    assert "Traceback" not in err


def test_evaluate_not_utf8(tmp_path, capsys):
    """A file that is not UTF-8 text: an error record naming it, exit 1, no traceback."""
    path = tmp_path / "bin.case.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["evaluate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "UTF-8" in err and "UTF-8" in out and "Traceback" not in err


def test_evaluate_jsonl_bad_bytes_on_one_line_loses_nothing(tmp_path, capsys):
    """JSON Lines with one line of bad bytes: that line is an error, the others run."""
    good = json.dumps(make_case())
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(good.encode() + b"\n\xff\xfe bad\n" + good.encode() + b"\n")
    assert main(["evaluate", str(path)]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert ["error" in r for r in records] == [False, True, False]
    assert records[1]["error"].endswith(":2: not UTF-8 text (invalid start byte)")


def test_evaluate_bad_json_array(tmp_path, capsys):
    """A broken JSON array: one error record, exit 1."""
    path = tmp_path / "broken.cases.json"
    path.write_text("[{\"format\": 1,", encoding="utf-8")
    assert main(["evaluate", str(path)]) == 1
    out, _ = capsys.readouterr()
    (record,) = records(out)
    assert record["case_id"] is None
    assert "invalid JSON" in record["error"]


def test_evaluate_out_of_range_date_no_traceback(tmp_path, capsys):
    """A case whose term runs past year 9999 is bad input: an error record and exit 1
    (the other cases still evaluated), never an exception."""
    extreme = make_case(case_id="y9999")
    extreme["tenant"]["subscriptions"][0]["anchor"] = "9999-06-01"
    extreme["request"]["on"] = "9999-06-02"
    path = write_json(tmp_path / "extreme.cases.json", [extreme, make_case()])
    assert main(["evaluate", str(path)]) == 1
    out, _ = capsys.readouterr()
    bad, good = records(out)
    assert bad["case_id"] == "y9999" and "error" in bad
    assert "error" not in good


def test_help_documents_evaluate(capsys):
    """``--help`` exits 0 and lists the evaluate command."""
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out, _ = capsys.readouterr()
    assert "evaluate" in out


def test_evaluate_help(capsys):
    """``evaluate --help`` exits 0 and documents inputs, --out and the exit status."""
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--help"])
    assert info.value.code == 0
    out, _ = capsys.readouterr()
    for fragment in ("CASES", "--out", "JSON Lines", "Exit status"):
        assert fragment in out


def test_unknown_command_is_usage_error(capsys):
    """An unknown sub-command: exit 2, no traceback."""
    assert main(["frobnicate"]) == 2
    _, err = capsys.readouterr()
    assert "Traceback" not in err


def test_run_sim_subprocess_garbage(tmp_path):
    """``python run_sim.py evaluate`` from the repo root on garbage: exit 1, one error
    record per bad line, no traceback on stderr."""
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('not json at all\n{"format": 1}\n[1, 2\n42\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "run_sim.py", "evaluate", str(garbage)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = records(result.stdout)
    assert len(lines) == 4
    assert all("error" in record for record in lines)
    assert lines[1]["error"] == "case_id: missing"
