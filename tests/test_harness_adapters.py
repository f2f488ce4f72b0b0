"""Adapters against hostile systems under test (HARNESS.md section 1).

A SUT that crashes, hangs, answers non-JSON, answers for another case_id or closes its
stdout mid-run yields a ``sut-error`` record for that case, with the reason, never a
traceback; the other cases still run. The hostile SUT below is the reference SUT with
one misbehaviour keyed on the case_id.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sim.harness.adapters import (
    AdapterError,
    CommandAdapter,
    FileAdapter,
    HttpAdapter,
    SutError,
    open_adapter,
)
from sim.harness.casegen import generate_cases
from sim.harness.cases import evaluate_json
from sim.harness.check import CheckOptions, run_check

ROOT = Path(__file__).resolve().parent.parent
SUT = ROOT / "examples" / "sut" / "sut.py"

HOSTILE = f"""
import json, sys, time, os
sys.path.insert(0, {str(SUT.parent)!r})
import tomllib
from sut import Billing, DEFAULT_CATALOG
billing = Billing(tomllib.load(open(DEFAULT_CATALOG, "rb")), set())
mode = sys.argv[1] if len(sys.argv) > 1 else "by-id"
for line in sys.stdin:
    case = json.loads(line)
    tag = case["case_id"].split("-")[0]
    if mode == "always-crash" or tag == "crash":
        sys.stderr.write("boom\\n"); sys.stderr.flush(); os._exit(3)
    if tag == "hang":
        time.sleep(60)
    if tag == "nonjson":
        print("<html>500</html>", flush=True); continue
    if tag == "wrongid":
        verdict = billing.verdict(case); verdict["case_id"] = "someone-else"
        print(json.dumps(verdict), flush=True); continue
    if tag == "close":
        os.close(1); time.sleep(60)
    print(json.dumps(billing.verdict(case)), flush=True)
"""


@pytest.fixture(scope="module")
def valid_cases():
    return [c for c in generate_cases(60, seed=7) if "error" not in evaluate_json(c)][:40]


def renamed(case, case_id):
    return dict(case, case_id=case_id)


@pytest.fixture
def hostile(tmp_path):
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE)
    return f"{sys.executable} {script}"


def test_hostile_sut_errors_are_records_and_the_other_cases_run(valid_cases, hostile, tmp_path):
    tags = ["crash", "hang", "nonjson", "wrongid", "close"]
    cases = []
    for index, case in enumerate(valid_cases[:30]):
        tag = tags[index // 6] if index % 6 == 3 else "ok"
        cases.append(renamed(case, f"{tag}-{index}"))
    stderr = tmp_path / "sut.stderr"
    with CommandAdapter(hostile, timeout=1.0, stderr_path=stderr) as adapter:
        result = run_check(cases, adapter, tmp_path / "out", CheckOptions(shrink=False))
    records = {r["case_id"]: r for r in map(json.loads,
                                            (tmp_path / "out/disagreements.jsonl").open())}
    assert result.exit_status == 1 and result.stopped is None
    assert set(records) == {c["case_id"] for c in cases if not c["case_id"].startswith("ok")}
    reasons = {case_id.split("-")[0]: r["reason"] for case_id, r in records.items()}
    assert all(r["class"] == "sut-error" for r in records.values())
    assert "exited with status 3" in reasons["crash"]
    assert "no answer within 1 s" in reasons["hang"]
    assert reasons["nonjson"].startswith("not JSON")
    assert "someone-else" in reasons["wrongid"]
    assert "closed its stdout" in reasons["close"]
    assert result.agreed == 25  # every well-behaved case still got its verdict checked
    assert "boom" in stderr.read_text()  # the SUT's stderr is kept


def test_a_sut_that_always_fails_is_given_up_after_five_restarts(valid_cases, hostile,
                                                                 tmp_path):
    with CommandAdapter(f"{hostile} always-crash", timeout=2.0) as adapter:
        result = run_check(valid_cases, adapter, tmp_path / "out", CheckOptions(shrink=False))
    assert result.exit_status == 1
    assert result.sut_errors == 6 and "6 times in a row" in result.stopped
    assert json.loads((tmp_path / "out/summary.json").read_text())["stopped"]


def test_a_command_that_cannot_start_stops_the_check(valid_cases, tmp_path):
    with CommandAdapter("/nonexistent/sut --serve") as adapter:
        result = run_check(valid_cases[:3], adapter, tmp_path / "out")
    assert result.exit_status == 1 and "cannot start" in result.stopped


# ------------------------------------------------------------------------- http:


@pytest.fixture(scope="module")
def http_sut():
    process = subprocess.Popen([sys.executable, str(SUT), "--serve-http", "0"],
                               stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    url = line.split("serving on ", 1)[1].strip()
    yield url
    process.kill()
    process.wait()


def test_http_adapter_checks_the_reference_sut(valid_cases, http_sut, tmp_path):
    with HttpAdapter(http_sut, concurrency=4) as adapter:
        result = run_check(valid_cases, adapter, tmp_path / "out")
    assert (result.exit_status, result.agreed) == (0, len(valid_cases))


class _Status500(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    calls = 0

    def do_POST(self):  # the http.server hook name
        type(self).calls += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"overloaded"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_http_errors_are_sut_errors_and_not_retried(valid_cases):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status500)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/verdict"
        with HttpAdapter(url) as adapter:
            answers = [a for _, _, a in adapter.stream((i, c) for i, c in
                                                       enumerate(valid_cases[:3]))]
    finally:
        server.shutdown()
    assert all(isinstance(a, SutError) and "HTTP status 500" in a.reason for a in answers)
    assert _Status500.calls == 3  # one request per case: HTTP errors are not retried


def test_connection_errors_are_retried_then_reported(valid_cases):
    with HttpAdapter("http://127.0.0.1:9/", backoff=0.01) as adapter:  # nothing listens
        answer = adapter.ask(valid_cases[0])
    assert isinstance(answer, SutError) and "connection failed 4 times" in answer.reason


# ------------------------------------------------------------------------- file:


def test_file_adapter_matches_by_case_id_and_reports_missing(valid_cases, tmp_path):
    verdicts = tmp_path / "verdicts.jsonl"
    with verdicts.open("w") as out:
        for case in reversed(valid_cases[1:]):  # order does not matter; the first is missing
            out.write(json.dumps(evaluate_json(case)) + "\n")
        out.write("not json\n")
    with open_adapter(f"file:{verdicts}") as adapter:
        result = run_check(valid_cases, adapter, tmp_path / "out")
    assert result.agreed == len(valid_cases) - 1 and result.sut_errors == 1
    record = json.loads((tmp_path / "out/disagreements.jsonl").read_text())
    assert record == {"case_id": valid_cases[0]["case_id"], "class": "sut-error",
                      "classes": ["sut-error"], "reason": "no verdict",
                      "rules": record["rules"]}


@pytest.mark.parametrize("text", ["ftp://x", "cmd:", "nonsense", "http://"])
def test_bad_adapter_strings_are_adapter_errors(text):
    with pytest.raises(AdapterError):
        open_adapter(text)


def test_a_missing_verdict_file_is_an_adapter_error(tmp_path):
    with pytest.raises(AdapterError, match="No such file"):
        FileAdapter(tmp_path / "nope.jsonl")
