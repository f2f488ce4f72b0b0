"""Hostile inputs for ``evaluate`` (issue 7, part 3): each costs only its own line.

Every test feeds good cases around one hostile line, element, file or flag, and asserts
the exit status, that no traceback reached the user, that the message names the file,
line or field path at fault, and that every good case still got its verdict (counted).
Semantic bounds (CASES.md, R-PATH-01/02, INV-06, MAX_MINOR) are checked through the CLI
with expected messages written by hand from the bounds in ``sim/harness/cases.py``.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Result, run_cli, run_subprocess

import sim.harness.case_render
import sim.harness.cases

# The verdict of GOOD (MOSA, 10 BUSINESS_BASIC -> BUSINESS_STANDARD on 2026-03-15,
# P-CHG-03): credit -30.97, charge 125.00, net 94.03 (worked by hand in test_cli.py).
GOOD_NET = "94.03"
GOOD: dict[str, Any] = {
    "format": 1, "case_id": "good", "currency": "USD", "rounding": "line-half-up",
    "tenant": {
        "tenant_id": "t-1", "domain": "contoso.com", "country": "US",
        "billing_account": "MOSA", "payment_method": "card", "unpaid_balance": "0.00",
        "subscriptions": [{
            "subscription_id": "s-1", "plan": "BUSINESS_BASIC", "licenses": 10,
            "assigned": 10, "term": "P1Y", "billing_frequency": "monthly",
            "anchor": "2026-01-31"}],
    },
    "request": {"kind": "change", "subscription_id": "s-1",
                "target_plan": "BUSINESS_STANDARD", "on": "2026-03-15"},
}


def good(case_id: str = "good") -> dict[str, Any]:
    """A fresh copy of GOOD with `case_id`."""
    case = copy.deepcopy(GOOD)
    case["case_id"] = case_id
    return case


def changed(case: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`case` with dotted paths (``tenant.subscriptions.0.licenses``) set to new values."""
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node: Any = case
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return case


def line(case: dict[str, Any]) -> bytes:
    return json.dumps(case).encode()


def sandwich(tmp_path: Path, bad: bytes, name: str = "cases.jsonl") -> Path:
    """good-1, the hostile line (line 2), good-2 as JSON Lines."""
    path = tmp_path / name
    path.write_bytes(line(good("good-1")) + b"\n" + bad + b"\n" + line(good("good-2")) + b"\n")
    return path


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(row) for row in text.splitlines() if row.strip()]


def verdicts(result: Result) -> list[dict[str, Any]]:
    return [record for record in records(result.out) if "error" not in record]


def errors(result: Result) -> list[dict[str, Any]]:
    return [record for record in records(result.out) if "error" in record]


def assert_goods(result: Result, *case_ids: str) -> None:
    """Exactly these good cases got verdicts, each the hand-worked one."""
    got = verdicts(result)
    assert [v["case_id"] for v in got] == list(case_ids), result.out[-2000:]
    assert all(v["net"] == GOOD_NET for v in got if v["case_id"].startswith("good"))


def one_error(result: Result) -> str:
    (record,) = errors(result)
    return record["error"]


# ---------------------------------------------------------------- hostile JSON Lines

DEEP_ARRAY = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a": ' * 10_000 + b"1" + b"}" * 10_000
GIANT_INT = b"9" * 5_000

HOSTILE_LINES = {
    # name: (line 2 of the file, fragment the error must hold)
    "nesting-10000-arrays": (DEEP_ARRAY, "nested too deeply"),
    "nesting-10000-objects": (DEEP_OBJECT, "nested too deeply"),
    "nesting-in-a-field": (
        line(good("x"))[:-1] + b', "extra": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        "nested too deeply"),
    "int-5000-digits-licenses": (
        line(good("x")).replace(b'"licenses": 10', b'"licenses": ' + GIANT_INT),
        "more than 4300 digits"),
    "int-4301-digits-top": (b"9" * 4_301, "more than 4300 digits"),
    "negative-int-5000-digits": (b'{"format": -' + GIANT_INT + b"}", "more than 4300 digits"),
    "bytes-ff-fe": (b"\xff\xfe bad", "not UTF-8"),
    "truncated-utf8": (b'{"case_id": "\xe2\x82"}', "not UTF-8"),
    "cesu-surrogate-bytes": (b'{"case_id": "\xed\xa0\x80"}', "not UTF-8"),
    "overlong-utf8": (b'{"case_id": "\xc0\xaf"}', "not UTF-8"),
    "latin1-text": ('{"case_id": "café"}'.encode("latin-1"), "not UTF-8"),
    "nan": (b'{"case_id": "n", "format": NaN}', "NaN is not a JSON number"),
    "infinity": (b'{"case_id": "n", "format": Infinity}', "Infinity is not a JSON number"),
    "minus-infinity": (b'{"format": -Infinity}', "-Infinity is not a JSON number"),
    "nul-byte": (b'{"case_id": "a\x00b"}', "invalid JSON"),
    "raw-control-char": (b'{"case_id": "a\x07b"}', "invalid JSON"),
    "trailing-garbage": (line(good("x")) + b" x", "Extra data"),
    "truncated-object": (b'{"format": 1, ', "invalid JSON"),
    "unterminated-string": (b'{"case_id": "abc}', "invalid JSON"),
    "single-quotes": (b"{'case_id': 'x'}", "invalid JSON"),
    "trailing-comma": (b'{"case_id": "x",}', "invalid JSON"),
    "bom-mid-file": (b"\xef\xbb\xbf" + line(good("x")), "invalid JSON"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_hostile_line_costs_only_itself(tmp_path, name):
    """The hostile line 2 is an error record naming ``cases.jsonl:2``; both good cases
    around it still get their verdicts; exit 1."""
    bad, fragment = HOSTILE_LINES[name]
    path = sandwich(tmp_path, bad)
    result = run_cli("evaluate", str(path)).assert_clean(1, f"{path}:2", fragment)
    assert_goods(result, "good-1", "good-2")
    message = one_error(result)
    assert message.startswith(f"{path}:2: ") and fragment in message, message
    assert "3 case(s), 2 verdict(s), 1 error(s)" in result.err


DUPLICATES = {
    # name: (line, the key path the error must name, case_id recovered)
    "top-level": (b'{"case_id": "d", "case_id": "e"}', "case_id", "d"),
    "tenant-field": (line(good("dup-t")).replace(b'"country": "US"',
                                                 b'"country": "US", "country": "FR"'),
                     "tenant.country", "dup-t"),
    "subscription-licenses": (
        line(good("dup-s")).replace(b'"licenses": 10', b'"licenses": 10, "licenses": 11'),
        "tenant.subscriptions[0].licenses", "dup-s"),
    "request-kind": (line(good("dup-r")).replace(b'"kind": "change"',
                                                 b'"kind": "change", "kind": "cancel"'),
                     "request.kind", "dup-r"),
    "same-value-twice": (b'{"case_id": "same", "format": 1, "format": 1}', "format", "same"),
}


@pytest.mark.parametrize("name", sorted(DUPLICATES))
def test_duplicate_key_is_an_error_naming_the_key_path(tmp_path, name):
    """A repeated key (even with the same value) is an error naming its path; the case_id
    is still recovered for the record."""
    bad, key_path, case_id = DUPLICATES[name]
    path = sandwich(tmp_path, bad)
    result = run_cli("evaluate", str(path)).assert_clean(1, f"{path}:2", key_path)
    assert_goods(result, "good-1", "good-2")
    (record,) = errors(result)
    assert record == {"case_id": case_id,
                      "error": f"{path}:2: {key_path}: duplicate key "
                               "(a JSON object must not repeat a key)"}


FIELD_ERRORS = {
    # name: (line, the error exactly as CASES.md writes it: "<field path>: <message>")
    "huge-float-licenses": (
        line(good("hf")).replace(b'"licenses": 10', b'"licenses": 1e999'),
        "tenant.subscriptions[0].licenses: expected an integer, got a number"),
    "float-licenses": (
        line(good("fl")).replace(b'"licenses": 10', b'"licenses": 10.0'),
        "tenant.subscriptions[0].licenses: expected an integer, got a number"),
    "nested-800-in-domain": (
        line(good("nd")).replace(b'"domain": "contoso.com"',
                                 b'"domain": ' + b"[" * 800 + b"]" * 800),
        "tenant.domain: expected a string, got a list"),
    "empty-object": (b"{}", "case_id: missing"),
    "array-on-a-line": (b"[1, 2]", "expected an object, got a list"),
    "null": (b"null", "expected an object, got null"),
    "string": (b'"hello"', "expected an object, got a string"),
    "number": (b"42", "expected an object, got an integer"),
    "format-4000-digits": (b'{"format": ' + b"7" * 4000 + b', "case_id": "f"}',
                           "format: unsupported format an integer of 4000 digits "
                           "(expected 1)"),
}


@pytest.mark.parametrize("name", sorted(FIELD_ERRORS))
def test_hostile_value_is_a_field_error(tmp_path, name):
    """Valid JSON with a hostile value: the field's path and message, the rest run."""
    bad, expected = FIELD_ERRORS[name]
    path = sandwich(tmp_path, bad)
    result = run_cli("evaluate", str(path)).assert_clean(1, expected)
    assert_goods(result, "good-1", "good-2")
    assert one_error(result).endswith(expected)
    assert f"{path}:2" in result.err or "error: " in result.err


def test_lone_surrogate_escape_in_case_id_gets_a_verdict(tmp_path):
    """``"\\ud800"`` is valid JSON: the case is judged and echoed back as valid JSON."""
    path = sandwich(tmp_path, line(good("lone-\ud800")))
    result = run_cli("evaluate", str(path)).assert_clean(0)
    assert_goods(result, "good-1", "lone-\ud800", "good-2")
    assert "\\ud800" in result.out  # escaped, so the output stays ASCII JSON


def test_line_separator_inside_a_string_does_not_split_the_line(tmp_path):
    """U+2028 inside a case id is part of the line (JSON Lines split on \\n only)."""
    path = sandwich(tmp_path, json.dumps(good("sep\u2028id"), ensure_ascii=False).encode())
    result = run_cli("evaluate", str(path)).assert_clean(0)
    assert_goods(result, "good-1", "sep\u2028id", "good-2")


def test_megabyte_case_id_and_blank_lines(tmp_path):
    """A 1 MB case id and runs of blank or whitespace-only lines are no problem."""
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n \n" + line(good("g" * 1_000_000)) + b"\n\t\n" + b" " * 100_000
                     + b"\n" + line(good("good-2")) + b"\n\n")
    result = run_cli("evaluate", str(path), "-q").assert_clean(0)
    assert [len(v["case_id"]) for v in verdicts(result)] == [1_000_000, 6]


def test_utf8_bom_is_accepted(tmp_path):
    """A UTF-8 BOM at the start of a file (JSON Lines, array, pretty case) is accepted."""
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + line(good("good-1")) + b"\n" + line(good("good-2")))
    array = tmp_path / "bom.cases.json"
    array.write_bytes(b"\xef\xbb\xbf" + json.dumps([good("good-3")]).encode())
    pretty = tmp_path / "bom.case.json"
    pretty.write_bytes(b"\xef\xbb\xbf" + json.dumps(good("good-4"), indent=2).encode())
    result = run_cli("evaluate", str(jsonl), str(array), str(pretty)).assert_clean(0)
    assert_goods(result, "good-1", "good-2", "good-3", "good-4")


def test_crlf_line_endings(tmp_path):
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(line(good("good-1")) + b"\r\n" + line(good("good-2")) + b"\r\n")
    assert_goods(run_cli("evaluate", str(path)).assert_clean(0), "good-1", "good-2")


def test_hostile_first_line_still_streams_the_rest(tmp_path):
    """A hostile first line does not turn JSON Lines into one broken document."""
    path = tmp_path / "first.jsonl"
    path.write_bytes(b'{"case_id": "x", "oops": }\n' + line(good("good-1")) + b"\n"
                     + DEEP_ARRAY + b"\n" + line(good("good-2")) + b"\n")
    result = run_cli("evaluate", str(path)).assert_clean(1, f"{path}:1", f"{path}:3")
    assert_goods(result, "good-1", "good-2")
    assert len(errors(result)) == 2


# ------------------------------------------------------------------ JSON arrays, whole

def array_of(*elements: bytes) -> bytes:
    return b"[\n" + b",\n".join(elements) + b"\n]\n"


HOSTILE_ELEMENTS = {
    "deep": (DEEP_ARRAY, "nested too deeply"),
    "giant-int": (GIANT_INT, "more than 4300 digits"),
    "duplicate-key": (b'{"case_id": "d", "case_id": "d"}', "case_id: duplicate key"),
    "nan": (b"NaN", "NaN is not a JSON number"),
    "syntax-error": (b'{"case_id": }', "invalid JSON"),
    "broken-string-with-brackets": (b'{"case_id": "]]}}", : 1}', "invalid JSON"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_ELEMENTS))
def test_hostile_array_element_costs_only_itself(tmp_path, name):
    """In a JSON array, a hostile element (index 1, line 3) is one error record naming
    ``file[1]``; the elements before and after it still get verdicts."""
    bad, fragment = HOSTILE_ELEMENTS[name]
    path = tmp_path / "many.cases.json"
    path.write_bytes(array_of(line(good("good-1")), bad, line(good("good-2"))))
    result = run_cli("evaluate", str(path)).assert_clean(1, f"{path}[1]", fragment)
    assert_goods(result, "good-1", "good-2")
    message = one_error(result)
    assert message.startswith(f"{path}[1] (line 3): ") and fragment in message, message


@pytest.mark.parametrize("tail, fragment", [
    (b"[" + line(good("good-1")) + b", " + line(good("good-2")) + b", ]", "invalid JSON"),
    (b"[" + line(good("good-1")) + b", " + line(good("good-2")), "invalid JSON"),
    (b"[" + line(good("good-1")) + b", " + line(good("good-2")) + b"] x", "extra data"),
    (b"[" + line(good("good-1")) + b", " + line(good("good-2")) + b" 7]", "expected ','"),
], ids=["trailing-comma", "unclosed", "garbage-after", "missing-comma"])
def test_broken_array_keeps_the_elements_before(tmp_path, tail, fragment):
    path = tmp_path / "broken.cases.json"
    path.write_bytes(tail)
    result = run_cli("evaluate", str(path)).assert_clean(1, str(path), fragment)
    assert_goods(result, "good-1", "good-2")


def test_pretty_printed_case_with_duplicate_key(tmp_path):
    """One pretty-printed case repeating a key: the key's path, exit 1."""
    text = json.dumps(good("pretty"), indent=2).replace(
        '"tenant_id": "t-1"', '"tenant_id": "t-1",\n    "tenant_id": "t-2"')
    path = tmp_path / "pretty.case.json"
    path.write_text(text, encoding="utf-8")
    result = run_cli("evaluate", str(path), str(sandwich(tmp_path, line(good("good-3")))))
    result.assert_clean(1, "tenant.tenant_id: duplicate key")
    assert_goods(result, "good-1", "good-3", "good-2")
    assert one_error(result).startswith(f"{path}: tenant.tenant_id")


def test_array_file_not_utf8_is_one_error_and_other_files_run(tmp_path):
    path = tmp_path / "latin.cases.json"
    path.write_bytes(b'[{"case_id": "caf\xe9"}]')
    other = sandwich(tmp_path, line(good("good-3")))
    result = run_cli("evaluate", str(path), str(other)).assert_clean(1, str(path), "UTF-8")
    assert_goods(result, "good-1", "good-3", "good-2")


# ------------------------------------------------------------------------------ stdin

def test_stdin_bad_bytes_and_bom(tmp_path):
    """stdin is read as bytes: a BOM is accepted, a bad line costs only itself."""
    data = (b"\xef\xbb\xbf" + line(good("good-1")) + b"\n\xff\xfe\n" + GIANT_INT + b"\n"
            + line(good("good-2")) + b"\n")
    result = run_cli("evaluate", "-", stdin=data).assert_clean(1, "<stdin>:2", "<stdin>:3")
    assert_goods(result, "good-1", "good-2")
    assert len(errors(result)) == 2


def test_stdin_real_process_deep_nesting():
    data = line(good("good-1")) + b"\n" + DEEP_OBJECT + b"\n" + line(good("good-2")) + b"\n"
    result = run_subprocess("evaluate", "-", stdin=data, timeout=60)
    result.assert_clean(1, "<stdin>:2", "nested too deeply")
    assert_goods(result, "good-1", "good-2")


# ------------------------------------------------------------------------ directories

def case_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "a.case.json").write_bytes(line(good("good-1")))
    (folder / "z.jsonl").write_bytes(line(good("good-2")) + b"\n")
    return folder


def test_fifo_in_directory_is_reported_not_read(tmp_path):
    """A FIFO named ``*.jsonl`` in a directory: an error record naming it, no hang
    (a real process with a timeout: opening a FIFO without a writer would block)."""
    folder = case_dir(tmp_path)
    os.mkfifo(folder / "m.jsonl")
    result = run_subprocess("evaluate", str(folder), timeout=60)
    result.assert_clean(1, str(folder / "m.jsonl"), "a FIFO, not a regular file")
    assert_goods(result, "good-1", "good-2")


@pytest.mark.parametrize("kind", ["directory", "dangling-symlink", "device-symlink"])
def test_non_regular_case_file_in_directory(tmp_path, kind):
    folder = case_dir(tmp_path)
    odd = folder / "m.case.json"
    expected = {"directory": "a directory named like a case file",
                "dangling-symlink": "a dangling symlink",
                "device-symlink": "a character device, not a regular file"}[kind]
    if kind == "directory":
        odd.mkdir()
        (odd / "inner.txt").write_text("not a case")
    elif kind == "dangling-symlink":
        odd.symlink_to(folder / "gone.case.json")
    else:
        odd.symlink_to("/dev/null")
    result = run_cli("evaluate", str(folder)).assert_clean(1, str(odd), expected)
    assert_goods(result, "good-1", "good-2")
    assert one_error(result) == f"{odd}: {expected}" + (": not read" if kind ==
                                                         "device-symlink" else "")


def test_symlink_to_a_good_file_is_read(tmp_path):
    folder = case_dir(tmp_path)
    target = tmp_path / "elsewhere.json"
    target.write_bytes(line(good("good-3")))
    (folder / "link.case.json").symlink_to(target)
    assert_goods(run_cli("evaluate", str(folder)).assert_clean(0), "good-1", "good-3", "good-2")


def test_unreadable_file_in_directory(tmp_path, monkeypatch):
    """Permission denied (simulated: the tests run as root, who may read anything)."""
    folder = case_dir(tmp_path)
    locked = folder / "locked.jsonl"
    locked.write_bytes(line(good("never")))
    real_open = os.open

    def deny(path, flags, *args, **kwargs):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    result = run_cli("evaluate", str(folder)).assert_clean(1, str(locked), "Permission denied")
    assert_goods(result, "good-1", "good-2")
    assert one_error(result) == f"{locked}: cannot read: Permission denied"


def test_explicit_device_is_refused(tmp_path):
    run_cli("evaluate", "/dev/null").assert_clean(2, "/dev/null", "character device")


def test_explicit_fifo_is_read(tmp_path):
    """A FIFO named on the command line (``<(generate)``) is read like a file."""
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as handle:
            handle.write(line(good("good-1")) + b"\n" + DEEP_ARRAY + b"\n")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    result = run_cli("evaluate", str(fifo)).assert_clean(1, f"{fifo}:2")
    thread.join(timeout=30)
    assert_goods(result, "good-1")


# ------------------------------------------------------------------------------ --out

def test_out_equal_to_input_is_refused_and_input_intact(tmp_path):
    path = sandwich(tmp_path, line(good("x")))
    before = path.read_bytes()
    result = run_cli("evaluate", str(path), "--out", str(path))
    result.assert_clean(2, f"--out {path}", "refusing to write over it")
    assert path.read_bytes() == before
    assert result.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.jsonl"]


@pytest.mark.parametrize("spelling", ["dotdot", "dot", "symlink", "hardlink"])
def test_out_naming_the_input_another_way_is_refused(tmp_path, spelling):
    path = sandwich(tmp_path, line(good("x")))
    before = path.read_bytes()
    (tmp_path / "sub").mkdir()
    out = {"dotdot": tmp_path / "sub" / ".." / "cases.jsonl",
           "dot": tmp_path / "." / "cases.jsonl",
           "symlink": tmp_path / "link.jsonl",
           "hardlink": tmp_path / "hard.jsonl"}[spelling]
    if spelling == "symlink":
        out.symlink_to(path)
    elif spelling == "hardlink":
        os.link(path, out)
    run_cli("evaluate", str(path), "--out", str(out)).assert_clean(2, "refusing")
    assert path.read_bytes() == before


def test_out_equal_to_redirected_stdin_is_refused(tmp_path):
    """``evaluate - --out f < f`` would read what it truncates: refused."""
    path = sandwich(tmp_path, line(good("x")))
    before = path.read_bytes()
    with open(path, "rb") as handle:
        proc = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "evaluate", "-",
                               "--out", str(path)], stdin=handle, capture_output=True,
                              timeout=60, check=False)
    Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode()).assert_clean(
        2, "is the input <stdin>")
    assert path.read_bytes() == before


def test_out_inside_an_input_directory_named_like_a_case_file(tmp_path):
    folder = case_dir(tmp_path)
    out = folder / "verdicts.jsonl"
    run_cli("evaluate", str(folder), "--out", str(out)).assert_clean(
        2, "would be read as input")
    assert not out.exists()
    # a name that would not be read is fine
    ok = folder / "verdicts.out"
    run_cli("evaluate", str(folder), "--out", str(ok)).assert_clean(0)
    assert [r["case_id"] for r in records(ok.read_text())] == ["good-1", "good-2"]


def test_out_is_a_directory(tmp_path):
    path = sandwich(tmp_path, line(good("x")))
    run_cli("evaluate", str(path), "--out", str(tmp_path)).assert_clean(2, "is a directory")


def test_out_directory_not_writable(tmp_path, monkeypatch):
    """Simulated with os.access (root may write anywhere): exit 2, nothing written."""
    path = sandwich(tmp_path, line(good("x")))
    (tmp_path / "ro").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p).name == "ro"
                        else real_access(p, mode, **kw))
    run_cli("evaluate", str(path), "--out", str(tmp_path / "ro" / "v.jsonl")).assert_clean(
        2, "ro", "not writable")
    assert list((tmp_path / "ro").iterdir()) == []


def test_out_temporary_file_cannot_be_created(tmp_path, monkeypatch):
    path = sandwich(tmp_path, line(good("x")))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    run_cli("evaluate", str(path), "--out", str(tmp_path / "v.jsonl")).assert_clean(
        2, "cannot write in", "Permission denied")


def test_out_interrupted_run_leaves_old_output_intact(tmp_path, monkeypatch):
    """An interrupted run never leaves a truncated --out, nor its temporary file."""
    path = sandwich(tmp_path, line(good("x")))
    out = tmp_path / "v.jsonl"
    out.write_text("previous verdicts\n")
    calls = []
    real = sim.harness.cases.evaluate_json

    def interrupt(raw, *args):
        calls.append(raw)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(raw, *args)

    real_line = sim.harness.case_render.evaluate_line

    def interrupt_line(text, *args):  # the typed road of JSON Lines (issue 11)
        calls.append(text)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_line(text, *args)

    monkeypatch.setattr(sim.harness.cases, "evaluate_json", interrupt)
    monkeypatch.setattr(sim.harness.case_render, "evaluate_line", interrupt_line)
    assert run_cli("evaluate", str(path), "--out", str(out)).status == 130
    assert out.read_text() == "previous verdicts\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.jsonl", "v.jsonl"]


def test_out_written_atomically_with_usual_permissions(tmp_path):
    path = sandwich(tmp_path, DEEP_ARRAY)
    out = tmp_path / "v.jsonl"
    result = run_cli("evaluate", str(path), "--out", str(out)).assert_clean(1, f"{path}:2")
    assert [r.get("case_id") for r in records(out.read_text())] == ["good-1", None, "good-2"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.jsonl", "v.jsonl"]
    assert result.out == ""


# --------------------------------------------------------- semantic bounds (cases.py)

SEMANTIC = {
    # name: (dotted changes to GOOD, the error exactly, worked from the stated bounds)
    "mca-change-21-of-20": (
        {"tenant.billing_account": "MCA", "tenant.subscriptions.0.licenses": 20,
         "tenant.subscriptions.0.assigned": 20, "request.licenses": 21},
        "request.licenses: a change moves at most the 20 licenses held, got 21 "
        "(R-PATH-01/02)"),
    "licenses-above-bound": (
        {"tenant.subscriptions.0.licenses": 10_000_001},
        "tenant.subscriptions[0].licenses: must be <= 10,000,000, got 10000001"),
    "assigned-10-to-the-30": (
        {"tenant.subscriptions.0.assigned": 10**30},
        "tenant.subscriptions[0].assigned: must be <= 10,000,000, got "
        "1000000000000000000000000000000"),
    "request-licenses-4000-digits": (
        {"tenant.billing_account": "MCA", "request.licenses": 10**3999},
        "request.licenses: must be <= 10,000,000, got an integer of 4000 digits"),
    "unpaid-balance-above-max-minor": (
        {"tenant.unpaid_balance": "10000000000000000.00"},
        "tenant.unpaid_balance: '10000000000000000.00' is out of range "
        "(at most 9999999999999999.99: MAX_MINOR minor units)"),
    "price-above-bound": (
        {"catalog": {"plans": [{"id": "BIG", "sector": "commercial",
                                "services": {"exchange": 1},
                                "prices": {"P1M": "1", "P1Y": "10000000.01"}}]}},
        "catalog.plans[0].prices.P1Y: 10000000.01 is above the bound of 10000000.00 per "
        "license per month (so no verdict amount can pass MAX_MINOR)"),
    "duplicate-plan-id": (
        {"catalog": {"plans": [{"id": "P", "sector": "commercial",
                                "services": {"exchange": 1}, "prices": {"P1M": "1", "P1Y": "1"}},
                               {"id": "P", "sector": "commercial",
                                "services": {"exchange": 1}, "prices": {"P1M": "2", "P1Y": "2"}}
                               ]}},
        "catalog.plans[1].id: duplicate plan id 'P' in the catalog"),
    "reduce-to-more-than-held": (
        {"request": {"kind": "reduce", "subscription_id": "s-1", "on": "2026-03-15",
                     "licenses": 11}},
        "request.licenses: a reduction needs fewer than the 10 licenses held, got 11"),
    "duplicate-add-on": (
        {"tenant.subscriptions.0.add_ons": [{"sku": "X", "blocks_change": False},
                                            {"sku": "X", "blocks_change": True}]},
        "tenant.subscriptions[0].add_ons[1].sku: duplicate add-on 'X'"),
    "empty-case-id": ({"case_id": ""}, "case_id: must not be empty"),
    "empty-subscription-id": ({"tenant.subscriptions.0.subscription_id": "",
                               "request.subscription_id": ""},
                              "tenant.subscriptions[0].subscription_id: must not be empty"),
    "empty-tenant-id": ({"tenant.tenant_id": ""}, "tenant.tenant_id: must not be empty"),
}


@pytest.mark.parametrize("name", sorted(SEMANTIC))
def test_semantic_nonsense_is_a_field_error(tmp_path, name):
    changes, expected = SEMANTIC[name]
    case = changed(good("bad"), changes)
    path = sandwich(tmp_path, line(case))
    result = run_cli("evaluate", str(path)).assert_clean(1, expected)
    assert_goods(result, "good-1", "good-2")
    assert errors(result) == [{"case_id": case["case_id"], "error": expected}]


def test_too_many_subscriptions(tmp_path):
    """10,001 subscriptions: over MAX_SUBSCRIPTIONS (10,000), named, the rest run."""
    case = good("many")
    template = case["tenant"]["subscriptions"][0]
    case["tenant"]["subscriptions"] = [dict(template, subscription_id=f"s-{n}")
                                       for n in range(1, 10_002)]
    path = sandwich(tmp_path, line(case))
    expected = "tenant.subscriptions: must hold at most 10,000 subscriptions, got 10,001"
    result = run_cli("evaluate", str(path)).assert_clean(1, expected)
    assert_goods(result, "good-1", "good-2")


def test_unreadable_subdirectory(tmp_path, monkeypatch):
    """A subdirectory that cannot be listed (simulated: root lists anything) is an error
    record naming it; the case files elsewhere still run."""
    folder = case_dir(tmp_path)
    locked = folder / "locked"
    locked.mkdir()
    (locked / "hidden.jsonl").write_bytes(line(good("never")))
    real_scandir = os.scandir

    def deny(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    result = run_cli("evaluate", str(folder)).assert_clean(1, str(locked), "Permission denied")
    assert_goods(result, "good-1", "good-2")
    assert one_error(result) == f"{locked}: cannot read directory: Permission denied"
