"""The run command: ``python run_sim.py run SCENARIO [options]`` (issue 3).

Exit status 0 for a finished run, 1 when --strict stops at an invariant violation
(INV-01..07), 2 for bad arguments: one line naming the problem, never a traceback.
In-process runs stub out the report step (the reports layer has its own tests); the
subprocess run at the end goes through everything, report included.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import sim.cli
import sim.cli.common
import sim.cli.run
import sim.fleet.request
import sim.fleet.runner
from sim.cli import main

REPO = Path(__file__).resolve().parent.parent
RECORD_TABLES = ("attempts", "capacity", "changes", "ledger", "population", "violations")


@pytest.fixture(autouse=True)
def no_report(monkeypatch):
    """Skip building report.html in-process (slow plots; tested with the reports layer)."""
    monkeypatch.setattr(sim.cli.run, "_maybe_report", lambda *args, **kwargs: None)


def manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    """`run baseline --tenants 300 --out DIR -q`, once: (exit status, out, err, DIR)."""
    out = tmp_path_factory.mktemp("cli") / "baseline"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sim.cli.run, "_maybe_report", lambda *args, **kwargs: None)
        capture = _Capture()
        with capture:
            status = main(["run", "baseline", "--tenants", "300", "--out", str(out), "-q"])
    return status, capture.out, capture.err, out


class _Capture:
    """Capture stdout/stderr inside a module-scoped fixture (capsys is per test)."""

    def __enter__(self):
        self._saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        return self

    def __exit__(self, *exc):
        self.out, self.err = sys.stdout.getvalue(), sys.stderr.getvalue()
        sys.stdout, sys.stderr = self._saved
        return False


def test_run_writes_manifest_and_records_INV_01_to_06(baseline_run):
    """`run baseline --tenants 300 -q`: exit 0, nothing printed, manifest.json and every
    record table written; the manifest counts no invariant violation (INV-01..07)."""
    status, out, err, directory = baseline_run
    assert status == 0
    assert out == "" and err == ""
    data = manifest(directory)
    assert data["scenario_name"] == "baseline" and data["tenants"] == 300
    assert data["record_format"] == "parquet"
    assert data["invariant_violations"]["total"] == 0
    for table in RECORD_TABLES:
        path = directory / "records" / f"{table}.parquet"
        assert path.is_file(), table
        assert pq.ParquetFile(path).metadata.num_rows == data["tables"][table]["rows"]
    assert not (directory / "records" / "trace.parquet").exists()
    assert not directory.with_name(directory.name + ".partial").exists()


def test_run_csv_with_seed_and_set(tmp_path):
    """`--format csv --seed 3 --set capacity.workers=2`: CSV records; the seed and the
    override reach the manifest's scenario."""
    out = tmp_path / "csv"
    status = main(["run", "baseline", "--tenants", "300", "--format", "csv", "--seed", "3",
                   "--set", "capacity.workers=2", "--set", "meta.name=cli-csv",
                   "--out", str(out), "-q"])
    assert status == 0
    data = manifest(out)
    assert data["record_format"] == "csv" and data["seed"] == 3
    assert data["scenario"]["capacity"]["workers"] == 2
    assert data["scenario_name"] == "cli-csv"
    for table in RECORD_TABLES:
        path = out / "records" / f"{table}.csv"
        assert path.is_file(), table
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1 + data["tables"][table]["rows"], table


def test_run_trace_writes_trace_without_changing_records(baseline_run, tmp_path):
    """`--trace`: the event trace is written too, and observing the run changes none of
    the other records (same scenario and seed, byte-identical tables)."""
    _, _, _, plain = baseline_run
    out = tmp_path / "traced"
    assert main(["run", "baseline", "--tenants", "300", "--trace", "--out", str(out),
                 "-q"]) == 0
    trace = pq.read_table(out / "records" / "trace.parquet").to_pylist()
    assert trace and manifest(out)["tables"]["trace"]["rows"] == len(trace)
    events = {row["event"] for row in trace}
    assert {"requested", "finished"} <= events
    requests = {row["request_id"] for row in pq.read_table(
        out / "records" / "changes.parquet").to_pylist()}
    assert {row["request_id"] for row in trace if row["event"] == "finished"} <= requests
    for table in RECORD_TABLES:
        assert manifest(out)["tables"][table]["sha256"] \
            == manifest(plain)["tables"][table]["sha256"], table


def test_no_arguments_runs_the_baseline(monkeypatch, tmp_path, capsys):
    """No arguments: the main job, `run baseline`, into reports/baseline-<seed>/ (here the
    run itself is redirected to a small fleet in a temporary directory)."""
    seen = {}
    real = sim.fleet.runner.run_scenario

    def small_run(scenario, out, **kwargs):
        seen["scenario"], seen["out"] = scenario, out
        small = dataclasses.replace(scenario, run=dataclasses.replace(scenario.run,
                                                                      tenants=100))
        return real(small, tmp_path / "run", **kwargs)

    monkeypatch.setattr(sim.fleet.runner, "run_scenario", small_run)
    assert main([]) == 0
    assert seen["scenario"].meta.name == "baseline"
    assert seen["scenario"].run.tenants == 10_000
    assert Path(seen["out"]) == Path.cwd() / "reports" / "baseline-1"  # issue 7: cwd
    out, err = capsys.readouterr()
    assert "scenario baseline seed 1" in out and "invariant violations (INV-01..07): 0" in out
    assert "Traceback" not in err


def test_strict_run_stops_with_exit_1_INV_01(monkeypatch, tmp_path, capsys):
    """INV-01 with --strict: an injected unlicensed user stops the run, exit 1, one line
    naming the rule, no traceback, no finished-looking output directory."""
    original = sim.fleet.request.complete_automatic

    def unlicensing(subscription, *args, **kwargs):  # one user fewer licensed (INV-01)
        effects = original(subscription, *args, **kwargs)
        changed = effects.new_subscription or subscription
        changed.licenses = changed.assigned - 1
        return effects

    monkeypatch.setattr(sim.fleet.request, "complete_automatic", unlicensing)
    out = tmp_path / "strict"
    status = main(["run", "baseline", "--tenants", "200", "--strict", "--out", str(out),
                   "-q"])
    assert status == 1
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    assert err.count("\n") == 1 and "invariant violated" in err and "INV-01" in err
    assert not (out / "manifest.json").exists()


@pytest.mark.parametrize(("argv", "fragment", "usage"), [
    (["run", "nope"], "no scenario 'nope'", False),
    (["run", "baseline", "--tenants", "0"], "--tenants must be >= 1", False),
    (["run", "baseline", "--tenants", "-5"], "--tenants must be >= 1", False),
    (["run", "baseline", "--seed", "-1"], "--seed must be >= 0", False),
    (["run", "baseline", "--set", "capacity.nope=1"], "capacity.nope: unknown key", False),
    (["run", "baseline", "--set", "capacity.workers"], "expected key.path=value", False),
    (["run", "baseline", "--set", "capacity.workers=0"], "capacity.workers", False),
    (["run", "baseline", "--format", "xml"], "--format", True),
    (["run", "baseline", "--tenants", "many"], "--tenants", True),
    (["run", "baseline", "--bogus"], "--bogus", True),
    (["frobnicate"], "frobnicate", True),
], ids=["unknown-scenario", "tenants-0", "tenants-negative", "seed-negative",
        "set-unknown-key", "set-no-value", "set-out-of-range", "format-xml",
        "tenants-not-int", "unknown-option", "unknown-command"])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv, fragment, usage):
    """Bad arguments: exit 2, one `planshift: error: ...` line naming the problem (after
    argparse's usage for syntax errors), no traceback, nothing run or written."""
    out = tmp_path / "out"
    status = main([*argv, "--out", str(out)] if argv[0] == "run" else argv)
    assert status == 2
    stdout, err = capsys.readouterr()
    assert stdout == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("planshift: error:")]
    assert len(errors) == 1 and errors[0] == lines[-1], err
    assert fragment in errors[0], err
    if "xml" in argv:
        assert "xml" in errors[0]
    if not usage:
        assert len(lines) == 1, err
    assert not out.exists()


def test_run_sim_py_subprocess_from_repo_root(tmp_path):
    """`python run_sim.py run baseline --tenants 200 -q --out DIR` from the repository root:
    exit 0, quiet, records and manifest written (report step included)."""
    out = tmp_path / "sub"
    result = subprocess.run(
        [sys.executable, "run_sim.py", "run", "baseline", "--tenants", "200", "-q",
         "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    data = manifest(out)
    assert data["tenants"] == 200 and data["invariant_violations"]["total"] == 0
    for table in RECORD_TABLES:
        assert (out / "records" / f"{table}.parquet").is_file(), table


def test_options_without_a_command_run_the_main_job(tmp_path, monkeypatch):
    """`run_sim.py --tenants 200 -q` means `run_sim.py run --tenants 200 -q`."""
    monkeypatch.setattr(sim.cli.run, "_maybe_report", lambda *args, **kwargs: None)
    out = tmp_path / "run"
    assert main(["--tenants", "200", "-q", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["scenario_name"], manifest["tenants"]) == ("baseline", 200)
