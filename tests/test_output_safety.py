"""Output safety of `planshift run` (issue 7, part 1): a run never loses a user's files.

Each data-loss path the issue lists is replayed here: the user's files must survive and
the run must be refused with exit 2 and a message naming the path, before simulating.
In-process runs skip the report step (slow plots; the reports layer has its own tests).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sim.cli.run
from sim.cli import main
from sim.fleet.outdir import finished_run, run_directory_name, safe_component
from sim.fleet.sizing import MemoryLimitError, check_memory, estimate_peak_bytes, parse_size

REPO = Path(__file__).resolve().parent.parent
SCENARIO = next(str(p) for p in (REPO / "sim" / "fleet" / "scenarios" / "baseline.toml",
                                 REPO / "scenarios" / "baseline.toml") if p.is_file())
SMALL = ("run", SCENARIO, "--tenants", "120", "-q")
MAYBE_REPORT = sim.cli.run._maybe_report  # the real report step, before it is stubbed


@pytest.fixture(autouse=True)
def no_report(monkeypatch):
    monkeypatch.setattr(sim.cli.run, "_maybe_report", lambda *args, **kwargs: None)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (None for directories)."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
            for p in sorted(root.rglob("*"))}


def run(*args: str, cwd: Path | None = None, capsys=None) -> tuple[int, str]:
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        status = main([*SMALL, *args])
    finally:
        os.chdir(old)
    err = capsys.readouterr().err if capsys is not None else ""
    assert "Traceback" not in err
    return status, err


def manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def test_user_directory_with_notes_survives(tmp_path, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("three years of work")
    (notes / "sub").mkdir()
    (notes / "sub" / "data.csv").write_text("a,b\n1,2\n")
    before = tree(tmp_path)
    status, err = run("--out", str(notes), capsys=capsys)
    assert status == 2 and str(notes) in err and "does not hold a planshift run" in err
    assert tree(tmp_path) == before  # nothing added, nothing removed


def test_out_parent_from_a_subfolder_is_refused(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("keep")
    sub = tmp_path / "sub"
    sub.mkdir()
    before = tree(tmp_path)
    status, err = run("--out", "..", cwd=sub, capsys=capsys)
    assert status == 2 and str(tmp_path) in err
    assert tree(tmp_path) == before


def test_user_directory_named_partial_survives(tmp_path, capsys):
    """The old runner wiped DIR.partial; temporary directories are now unique names."""
    partial = tmp_path / "out.partial"
    partial.mkdir()
    (partial / "mine.txt").write_text("mine")
    status, _ = run("--out", str(tmp_path / "out"), capsys=capsys)
    assert status == 0
    assert (partial / "mine.txt").read_text() == "mine"
    assert manifest(tmp_path / "out")["planshift_run"] is True
    # nothing temporary is left beside the run: only the run, the user's dir, the lock
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out", "out.partial"]


def test_scenario_name_cannot_escape_the_output_root(tmp_path, capsys):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (tmp_path / "x-1").mkdir()
    (tmp_path / "x-1" / "precious").write_text("precious")
    before_outside = {p for p in tmp_path.rglob("*") if work not in p.parents and p != work}
    status, _ = run("--set", "meta.name=../../x", cwd=work, capsys=capsys)
    assert status == 0
    after_outside = {p for p in tmp_path.rglob("*") if work not in p.parents and p != work}
    assert after_outside == before_outside
    assert (tmp_path / "x-1" / "precious").read_text() == "precious"
    made = [p.name for p in (work / "reports").iterdir() if p.is_dir()]
    assert len(made) == 1 and re.fullmatch(r"x-1-[0-9a-f]{6}", made[0]), made


@pytest.mark.parametrize(("name", "expected"), [
    ("../../x", "x"), ("/etc/passwd", "etc_passwd"), ("..", "run"), ("", "run"),
    (".hidden", "hidden"), ("a/b\\c", "a_b_c"), ("baseline", "baseline"),
    ("x\x00y", "x_y"), ("Ünïcode name", "n_code_name"),
])
def test_safe_component_is_one_harmless_name(name, expected):
    assert safe_component(name) == expected
    assert "/" not in safe_component(name) and safe_component(name) not in (".", "..")


def test_default_name_reflects_overrides(tmp_path, capsys):
    """No overrides: ./reports/<name>-<seed>; overrides: a short stable hash suffix; the
    same configuration spelt two ways gets the same directory (so the second is refused)."""
    base = {"meta": {"name": "baseline"}, "run": {"seed": 1, "tenants": 10_000}}
    assert run_directory_name("baseline", 1, base, base) == "baseline-1"
    reseeded = {"meta": {"name": "baseline"}, "run": {"seed": 7, "tenants": 10_000}}
    assert run_directory_name("baseline", 7, reseeded, base) == "baseline-7"
    assert run(cwd=tmp_path, capsys=capsys)[0] == 0
    first = [p.name for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    assert len(first) == 1 and re.fullmatch(r"baseline-1-[0-9a-f]{6}", first[0])
    status, err = run("--set", "run.tenants=120", cwd=tmp_path, capsys=capsys)
    assert status == 2 and first[0] in err and "--force" in err
    assert run("--set", "capacity.workers=3", cwd=tmp_path, capsys=capsys)[0] == 0
    names = sorted(p.name for p in (tmp_path / "reports").iterdir() if p.is_dir())
    assert len(names) == 2 and first[0] in names


def test_force_replaces_a_finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("--out", str(out), "--seed", "1", capsys=capsys)[0] == 0
    status, err = run("--out", str(out), "--seed", "2", capsys=capsys)
    assert status == 2 and str(out) in err and "--force" in err and "seed 1" in err
    assert manifest(out)["seed"] == 1
    assert run("--out", str(out), "--seed", "2", "--force", capsys=capsys)[0] == 0
    assert manifest(out)["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock", "run"]


def test_force_never_deletes_a_file_a_run_does_not_write(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("--out", str(out), capsys=capsys)[0] == 0
    (out / "my-analysis.ipynb").write_text("{}")
    status, err = run("--out", str(out), "--force", capsys=capsys)
    assert status == 2 and "my-analysis.ipynb" in err
    assert (out / "my-analysis.ipynb").read_text() == "{}"


def test_failed_forced_run_keeps_the_old_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert run("--out", str(out), capsys=capsys)[0] == 0
    before = tree(out)

    def broken(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(sim.fleet.runner, "simulate", broken)
    assert main([*SMALL, "--out", str(out), "--force"]) == 1  # the error boundary
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock", "run"]


def test_out_naming_a_file_is_refused_before_simulating(tmp_path, capsys, monkeypatch):
    target = tmp_path / "results.txt"
    target.write_text("do not truncate")
    monkeypatch.setattr(sim.fleet.runner, "simulate", lambda *a, **k: pytest.fail("ran"))
    status, err = run("--out", str(target), capsys=capsys)
    assert status == 2 and str(target) in err and "file" in err
    assert target.read_text() == "do not truncate"


def test_unwritable_out_is_refused_before_simulating(capsys, monkeypatch):
    """/proc refuses new entries even to root, so this holds in any container."""
    monkeypatch.setattr(sim.fleet.runner, "simulate", lambda *a, **k: pytest.fail("ran"))
    status, err = run("--out", "/proc/planshift-out/run", capsys=capsys)
    assert status == 2 and "/proc/planshift-out" in err


def test_a_held_lock_fails_fast(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    monkeypatch.setattr(sim.fleet.runner, "simulate", lambda *a, **k: pytest.fail("ran"))
    with open(tmp_path / ".run.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        status, err = run("--out", str(out), capsys=capsys)
    assert status == 2 and str(out) in err and "another planshift run" in err
    assert not out.exists()


def test_two_concurrent_runs_end_with_one_run_and_one_refusal(tmp_path):
    """Real processes on one --out: one complete run (exit 0) and one exit 2, never a mix."""
    out = tmp_path / "D"
    argv = [sys.executable, str(REPO / "run_sim.py"), "run", SCENARIO, "--tenants", "2000",
            "--out", str(out), "-q"]
    procs = [subprocess.Popen([*argv, "--seed", str(seed)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for seed in (1, 2)]
    results = [(p.wait(timeout=300), p.stderr.read().decode()) for p in procs]
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    statuses = sorted(status for status, _ in results)
    assert statuses == [0, 2], results
    winner = 1 if results[0][0] == 0 else 2
    loser_err = next(err for status, err in results if status == 2)
    assert str(out) in loser_err and "Traceback" not in loser_err
    data = manifest(out)
    assert data["seed"] == winner and finished_run(out) is not None
    rows = data["tables"]["population"]["rows"]
    assert rows == 2000


def test_memory_estimate_refuses_a_huge_fleet_at_once(capsys, monkeypatch):
    """50,000,000 tenants: refused before any population is built, with the estimate."""
    monkeypatch.setattr(sim.fleet.runner, "simulate", lambda *a, **k: pytest.fail("ran"))
    status = main(["run", SCENARIO, "--tenants", "50000000", "-q", "--max-memory", "16G"])
    err = capsys.readouterr().err
    assert status == 2 and "50,000,000 tenants" in err and "GiB" in err
    assert "--max-memory" in err and "16.0 GiB" in err


def test_max_memory_can_refuse_and_is_validated(tmp_path, capsys):
    status, err = run("--out", str(tmp_path / "r"), "--max-memory", "1M", capsys=capsys)
    assert status == 2 and "1.0 MiB" in err and not (tmp_path / "r").exists()
    status, err = run("--out", str(tmp_path / "r"), "--max-memory", "lots", capsys=capsys)
    assert status == 2 and "--max-memory" in err and "lots" in err


@pytest.mark.parametrize(("text", "expected"), [
    ("16G", 16 * 1024**3), ("512M", 512 * 1024**2), ("2.5GiB", 5 * 1024**3 // 2),
    ("1073741824", 1024**3), ("64k", 64 * 1024), ("1 TB", 1024**4),
])
def test_parse_size_binary_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "G", "1.2.3G", "-1G", "0", "16 gigs", "nan", "1e3G"])
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


@pytest.mark.parametrize(("tenants", "measured_kib"), [
    (10_000, 229_612), (100_000, 380_236), (300_000, 617_604), (1_000_000, 1_304_288),
])
def test_memory_estimate_covers_the_measured_peaks(tenants, measured_kib):
    """Peak RSS of `planshift run baseline --tenants N` measured with /usr/bin/time -v
    (sim/fleet/sizing.py): the estimate lies above each, by at most 30%."""
    measured = measured_kib * 1024
    assert measured <= estimate_peak_bytes(tenants) <= measured * 1.3


def test_memory_check_against_a_limit():
    assert check_memory(1_000, limit=1 << 40) == estimate_peak_bytes(1_000)
    with pytest.raises(MemoryLimitError, match="50,000,000 tenants"):
        check_memory(50_000_000, limit=16 << 30)


@pytest.mark.parametrize(("text", "is_run"), [
    ('{"planshift_run": true, "tables": {}}', True),
    ('{"format": 1, "package": "planshift", "tables": {}}', True),  # before the marker
    ('{"planshift_run": "yes", "tables": {}}', False), ('{"hello": 1}', False),
    ("[]", False), ("{", False), ("\udcff", False),
])
def test_finished_run_needs_a_manifest_that_says_so(tmp_path, text, is_run):
    (tmp_path / "manifest.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    assert (finished_run(tmp_path) is not None) == is_run


def test_a_failing_report_warns_and_keeps_the_records(tmp_path, capsys, monkeypatch):
    """The report is built inside the run's temporary directory; if it fails the
    records are still moved into place and the user is told how to rebuild it."""
    import sim.report

    def broken(directory, **kwargs):
        raise ValueError("plot exploded")

    monkeypatch.setattr(sim.report, "build_report", broken)
    monkeypatch.setattr(sim.cli.run, "_maybe_report", MAYBE_REPORT)
    status, err = run("--out", str(tmp_path / "r"), capsys=capsys)
    assert status == 0 and "report not built" in err and "plot exploded" in err
    assert finished_run(tmp_path / "r") is not None
