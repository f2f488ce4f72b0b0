"""Hostile inputs for `run`, `report` and `compare` (issue 7, parts 1, 2 and 4).

Each case asserts the exit status, that no traceback reached the user, and that the
message names the path or flag at fault; where a user's files are involved, that they
are unchanged. Runs are tiny (50-200 tenants) and refused cases never simulate.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import sim.cli.run
import sim.fleet.runner
from sim.fleet.runner import run_scenario
from sim.fleet.scenario import load_scenario
from sim.report import build_report

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = next(str(p) for p in (ROOT / "sim" / "fleet" / "scenarios" / "baseline.toml",
                                 ROOT / "scenarios" / "baseline.toml") if p.is_file())
RUN = ("run", SCENARIO, "--tenants", "60", "-q")
SIMULATES = {"test_hostile_scenario_name_stays_inside_reports"}  # the one accepted run


@pytest.fixture(autouse=True)
def no_simulation_unless_allowed(monkeypatch, request):
    """Refused runs must be refused before simulating; the report step is skipped."""
    monkeypatch.setattr(sim.cli.run, "_maybe_report", lambda *args, **kwargs: None)
    if request.node.name not in SIMULATES:
        monkeypatch.setattr(sim.fleet.runner, "simulate",
                            lambda *a, **k: pytest.fail("simulated before refusing"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished run with its report, made once and copied by the tests that damage it."""
    directory = tmp_path_factory.mktemp("hostile") / "run"
    run_scenario(load_scenario(Path(SCENARIO), ["run.tenants=150"]), directory)
    build_report(directory)
    return directory


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): None if p.is_dir() or not p.is_file() else p.read_bytes()
            for p in sorted(root.rglob("*"))}


# ------------------------------------------------------------------ run --out ...

def _user_dir(tmp: Path) -> tuple[list[str], str]:
    (tmp / "notes").mkdir()
    (tmp / "notes" / "todo.md").write_text("x")
    return ["--out", str(tmp / "notes")], str(tmp / "notes")


def _parent(tmp: Path) -> tuple[list[str], str]:
    (tmp / "sub").mkdir()
    os.chdir(tmp / "sub")  # run_cli restores the working directory
    return ["--out", ".."], str(tmp)


def _dot(tmp: Path) -> tuple[list[str], str]:
    (tmp / "file").write_text("x")
    os.chdir(tmp)
    return ["--out", "."], str(tmp)


def _a_file(tmp: Path) -> tuple[list[str], str]:
    (tmp / "f.txt").write_text("keep")
    return ["--out", str(tmp / "f.txt")], "f.txt"


def _symlink_to_dir(tmp: Path) -> tuple[list[str], str]:
    (tmp / "real").mkdir()
    (tmp / "link").symlink_to(tmp / "real")
    return ["--out", str(tmp / "link")], "symbolic link"


def _dangling_symlink(tmp: Path) -> tuple[list[str], str]:
    (tmp / "dangling").symlink_to(tmp / "nowhere")
    return ["--out", str(tmp / "dangling")], "symbolic link"


def _under_a_file(tmp: Path) -> tuple[list[str], str]:
    (tmp / "plain").write_text("x")
    return ["--out", str(tmp / "plain" / "run")], str(tmp / "plain")


def _proc(tmp: Path) -> tuple[list[str], str]:
    return ["--out", "/proc/planshift-hostile/run"], "/proc/planshift-hostile"


def _empty_out(tmp: Path) -> tuple[list[str], str]:
    return ["--out", ""], "--out"


def _fake_manifest(tmp: Path) -> tuple[list[str], str]:
    (tmp / "d").mkdir()
    (tmp / "d" / "manifest.json").write_text('{"hello": "world"}')
    return ["--out", str(tmp / "d")], str(tmp / "d")


def _broken_manifest(tmp: Path) -> tuple[list[str], str]:
    (tmp / "d").mkdir()
    (tmp / "d" / "manifest.json").write_bytes(b"\xff{{{")
    return ["--out", str(tmp / "d")], str(tmp / "d")


def _user_partial_only(tmp: Path) -> tuple[list[str], str]:
    """A user's directory that looks like a run's leftovers is still the user's."""
    (tmp / "d").mkdir()
    (tmp / "d" / "records").mkdir()
    (tmp / "d" / "records" / "mine.parquet").write_text("x")
    return ["--out", str(tmp / "d")], str(tmp / "d")


def _finished_no_force(tmp: Path, finished: Path) -> tuple[list[str], str]:
    shutil.copytree(finished, tmp / "old")
    return ["--out", str(tmp / "old")], "--force"


def _finished_with_foreign(tmp: Path, finished: Path) -> tuple[list[str], str]:
    shutil.copytree(finished, tmp / "old")
    (tmp / "old" / "notes.txt").write_text("mine")
    return ["--out", str(tmp / "old"), "--force"], "notes.txt"


def _finished_with_file_in_records(tmp: Path, finished: Path) -> tuple[list[str], str]:
    shutil.copytree(finished, tmp / "old")
    (tmp / "old" / "records" / "extra.csv").write_text("mine")
    return ["--out", str(tmp / "old"), "--force"], "records/extra.csv"


OUT_CASES: dict[str, Callable[..., tuple[list[str], str]]] = {
    "user-dir": _user_dir, "dotdot-from-subfolder": _parent, "dot": _dot, "a-file": _a_file,
    "symlink-to-dir": _symlink_to_dir, "dangling-symlink": _dangling_symlink,
    "under-a-file": _under_a_file, "unwritable-proc": _proc, "empty-out": _empty_out,
    "foreign-manifest": _fake_manifest, "undecodable-manifest": _broken_manifest,
    "records-dir-not-a-run": _user_partial_only, "finished-without-force": _finished_no_force,
    "finished-with-foreign-file-and-force": _finished_with_foreign,
    "finished-with-file-in-records-and-force": _finished_with_file_in_records,
}


@pytest.mark.parametrize("case", OUT_CASES, ids=list(OUT_CASES))
def test_hostile_out_is_refused_and_files_survive(cli, tmp_path, finished, case):
    maker = OUT_CASES[case]
    old = Path.cwd()
    try:
        needs_run = maker.__code__.co_argcount == 2
        args, needle = maker(tmp_path, finished) if needs_run else maker(tmp_path)
        before = snapshot(tmp_path)
        result = cli(*RUN, *args, cwd=Path.cwd())
    finally:
        os.chdir(old)
    result.assert_clean(2, needle)
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------ run sizes

@pytest.mark.parametrize(("args", "needles"), [
    (["--tenants", "50000000"], ["50,000,000 tenants", "GiB", "--max-memory"]),
    (["--tenants", "1000000000000"], ["run.tenants"]),  # above the scenario's bound
    (["--max-memory", "1K"], ["1.0 KiB", "--max-memory"]),
    (["--max-memory", "0"], ["--max-memory", "> 0"]),
    (["--max-memory=-5G"], ["--max-memory", "-5G"]),
    (["--max-memory", "16 gigs"], ["--max-memory", "16 gigs"]),
    (["--max-memory", "nan"], ["--max-memory", "nan"]),
], ids=["50M-tenants", "1e12-tenants", "limit-1K", "limit-0", "limit-negative",
        "limit-words", "limit-nan"])
def test_hostile_sizes_are_refused_before_allocating(cli, tmp_path, args, needles):
    cli(*RUN, "--out", str(tmp_path / "r"), *args).assert_clean(2, *needles)
    assert not (tmp_path / "r").exists()


def test_hostile_scenario_name_stays_inside_reports(cli, tmp_path):
    (tmp_path / "w").mkdir()
    before = snapshot(tmp_path)
    cli(*RUN, "--set", "meta.name=../../../x", cwd=tmp_path / "w").assert_clean(0)
    after = snapshot(tmp_path)
    new = [name for name in after if name not in before]
    assert new and all(name.startswith(os.path.join("w", "reports")) for name in new), new


# ------------------------------------------------------------------ report / compare

def _manifest_edit(**table_fields: object) -> Callable[[Path], str]:
    def edit(run: Path) -> str:
        data = json.loads((run / "manifest.json").read_text())
        data["tables"]["ledger"].update(table_fields)
        (run / "manifest.json").write_text(json.dumps(data))
        return "ledger"
    return edit


def _write(relative: str, data: bytes) -> Callable[[Path], str]:
    def damage(run: Path) -> str:
        (run / relative).write_bytes(data)
        return relative.split("/")[-1]
    return damage


def _replace_with_dir(run: Path) -> str:
    (run / "records" / "capacity.parquet").unlink()
    (run / "records" / "capacity.parquet").mkdir()
    return "capacity.parquet"


def _symlink_out(run: Path) -> str:
    (run / "records" / "violations.parquet").unlink()
    (run / "records" / "violations.parquet").symlink_to("/etc/passwd")
    return "outside the run directory"


def _fifo(run: Path) -> str:
    (run / "records" / "attempts.parquet").unlink()
    os.mkfifo(run / "records" / "attempts.parquet")
    return "attempts.parquet"


def _manifest_is_dir(run: Path) -> str:
    (run / "manifest.json").unlink()
    (run / "manifest.json").mkdir()
    return "not a run directory"


REPORT_CASES: dict[str, Callable[[Path], str]] = {
    "path-escape": _manifest_edit(file="../../../../etc/passwd"),
    "absolute-path": _manifest_edit(file="/etc/passwd"),
    "file-null": _manifest_edit(file=None),
    "rows-text": _manifest_edit(rows="many"),
    "rows-negative": _manifest_edit(rows=-1),
    "sha-not-hex": _manifest_edit(sha256="zz"),
    "empty-record-file": _write("records/ledger.parquet", b""),
    "garbage-record-file": _write("records/changes.parquet", b"PAR1garbagePAR1"),
    "record-file-is-dir": _replace_with_dir,
    "record-symlink-outside": _symlink_out,
    "record-fifo": _fifo,
    "manifest-list": _write("manifest.json", b"[1, 2]"),
    "manifest-deep": _write("manifest.json", b"[" * 100_000 + b"]" * 100_000),
    "manifest-latin1": _write("manifest.json", b"\xe9\xe9"),
    "manifest-no-tables": _write("manifest.json", b'{"seed": 1}'),
    "manifest-dir": _manifest_is_dir,
}


@pytest.mark.parametrize("case", REPORT_CASES, ids=list(REPORT_CASES))
def test_hostile_run_directory_in_report_and_compare(cli, tmp_path, finished, case):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    needle = REPORT_CASES[case](run)
    cli("report", str(run), "-q").assert_clean(2, needle)
    cli("compare", str(finished), str(run)).assert_clean(2, needle)


@pytest.mark.parametrize(("text", "needle"), [
    (b"{not json", "summary.json"), (b"[]", "metrics"), (b'{"metrics": [1]}', "metrics"),
], ids=["summary-invalid", "summary-list", "summary-metrics-list"])
def test_hostile_summary_in_compare(cli, tmp_path, finished, text, needle):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / "summary.json").write_bytes(text)
    cli("compare", str(finished), str(run)).assert_clean(2, needle)


@pytest.mark.parametrize("rtol", ["nan", "inf", "-1", "1e400"])
def test_hostile_tolerance(cli, finished, rtol):
    cli("compare", str(finished), str(finished), "--rtol", rtol).assert_clean(2, "--rtol")


def test_hostile_report_of_a_file(cli, tmp_path):
    (tmp_path / "f").write_text("x")
    cli("report", str(tmp_path / "f")).assert_clean(2, str(tmp_path / "f"))
