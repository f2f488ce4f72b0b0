"""Hostile inputs for the commands the other hostile suites leave out (issue 7, part 3):
``cases``, ``check``, ``sweep``, ``plan-capacity``, ``compare-replications``,
``report --fx``, ``run --replications/--jobs/--executor``, ``targets`` and ``params``.

Each case asserts the exit status (2 for bad input), that no traceback and no "internal
error" reached the user, and that the one-line message names the flag, file or key at
fault. Where an output path points at someone's files (a folder of notes, a case file,
a run), the test also asserts that every byte of them survived. Nothing here simulates
more than a 50-tenant, 20-day fleet, and every refused command is refused before it runs
anything.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import Result, run_cli, run_subprocess

TINY = ("--tenants", "50", "--set", "run.horizon_days=20")
LONG = "x" * 5000  # longer than any file name a file system accepts (ENAMETOOLONG)
TARGET = "peak.queue_wait.p95<=60"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A finished run, exported cases with the model's verdicts, two replication sets,
    a folder of a user's notes, a user's file, a FIFO and a non-executable script."""
    root = tmp_path_factory.mktemp("commands")
    run_cli("run", "baseline", *TINY, "--out", str(root / "run"), "--no-plots",
            "-q").assert_clean(0)
    run_cli("cases", "baseline", "--tenants", "50", "--out", str(root / "cases"),
            "-q").assert_clean(0)
    lines = (root / "cases" / "cases.jsonl").read_text().splitlines(keepends=True)
    (root / "c3.jsonl").write_text("".join(lines[:3]))
    for name, seed in (("rep1", "1"), ("rep2", "9")):
        run_cli("run", "baseline", *TINY, "--seed", seed, "--replications", "2", "--jobs", "1",
                "--out", str(root / name), "--no-plots", "-q").assert_clean(0)
    (root / "notes").mkdir()
    (root / "notes" / "todo.md").write_text("my notes\n")
    (root / "afile").write_text("keep me\n")
    os.mkfifo(root / "fifo")
    (root / "noexec.sh").write_text("echo hi\n")
    (root / "noexec.sh").chmod(0o644)
    (root / "fifodir").mkdir()  # good cases beside a FIFO named like a case file
    shutil.copy(root / "c3.jsonl", root / "fifodir" / "a.jsonl")
    os.mkfifo(root / "fifodir" / "b.jsonl")
    return root


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
            for p in sorted(root.rglob("*")) if not p.is_fifo()}


def refused(result: Result, *needles: str, status: int = 2) -> Result:
    """Exit `status`, no traceback, no internal error, and every needle in the message."""
    result.assert_clean(status, *needles)
    assert "internal error" not in result.err, result.err
    return result


def expand(args: tuple[str, ...], world: Path, tmp: Path) -> list[str]:
    return [a.format(W=world, T=tmp) for a in args]


# ------------------------------------------------------------------------ cases

CASES_BAD = [
    ("sample-zero", ("cases", "baseline", "--sample", "0"), ["--sample"]),
    ("sample-negative", ("cases", "baseline", "--sample", "-1"), ["--sample"]),
    ("stratify-zero", ("cases", "baseline", "--stratify", "0"), ["--stratify"]),
    ("generate-zero", ("cases", "--generate", "0"), ["--generate"]),
    ("generate-negative", ("cases", "--generate", "-5"), ["--generate"]),
    ("generate-billion", ("cases", "--generate", "1000000000"), ["--generate", "1,000,000"]),
    ("generate-not-int", ("cases", "--generate", "many"), ["--generate"]),
    ("tenants-zero", ("cases", "baseline", "--tenants", "0"), ["run.tenants"]),
    ("tenants-text", ("cases", "baseline", "--tenants", "abc"), ["--tenants"]),
    ("seed-negative", ("cases", "baseline", "--seed", "-1"), ["run.seed"]),
    ("no-source", ("cases",), ["RUN_DIR or SCENARIO"]),
    ("unknown-scenario", ("cases", "nosuch"), ["nosuch"]),
    ("unicode-scenario", ("cases", "ünïcødé.toml"), ["ünïcødé.toml"]),
    ("device-scenario", ("cases", "/dev/null"), ["/dev/null"]),
    ("long-name", ("cases", LONG), ["File name too long", "5000 characters"]),
    ("user-folder-as-run", ("cases", "{W}/notes"), ["notes", "not a finished planshift run"]),
    ("overrides-on-a-run", ("cases", "{W}/run", "--tenants", "5"), ["--tenants/--seed"]),
    ("out-user-folder", ("cases", "baseline", "--tenants", "50", "--out", "{W}/notes"),
     ["--out", "notes"]),
    ("out-a-run", ("cases", "baseline", "--tenants", "50", "--out", "{W}/run"),
     ["--out", "run"]),
    ("out-a-file", ("cases", "baseline", "--tenants", "50", "--out", "{W}/afile"),
     ["--out", "afile", "not a directory"]),
    ("out-a-fifo", ("cases", "baseline", "--tenants", "50", "--out", "{W}/fifo"),
     ["--out", "fifo"]),
    ("out-in-proc", ("cases", "baseline", "--tenants", "50", "--out", "/proc/planshift/x"),
     ["--out", "/proc/planshift/x"]),
]


@pytest.mark.parametrize(("args", "needles"), [c[1:] for c in CASES_BAD],
                         ids=[c[0] for c in CASES_BAD])
def test_hostile_cases_arguments(world, tmp_path, args, needles):
    before = snapshot(world)
    argv = expand(args, world, tmp_path)
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    refused(run_cli(*argv, "-q"), *[n.format(W=world) for n in needles])
    assert snapshot(world) == before  # the user's files, the run and the cases survive


def _damage_manifest(run: Path, how: str) -> None:
    path = run / "manifest.json"
    if how == "truncated":
        path.write_text("{")
    elif how == "not-an-object":
        path.write_text("[1, 2]")
    elif how == "not-utf8":
        path.write_bytes(b"\xff\xfe")
    else:
        manifest = json.loads(path.read_text())
        if how == "meta-an-int":
            manifest["scenario"]["meta"] = 5
        elif how == "tenants-negative":
            manifest["scenario"]["run"]["tenants"] = -5
        path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(("how", "needles"), [
    ("truncated", ["not a finished planshift run"]),
    ("not-an-object", ["not a finished planshift run"]),
    ("not-utf8", ["not a finished planshift run"]),
    ("meta-an-int", ["manifest.json", "scenario.meta"]),
    ("tenants-negative", ["manifest.json", "scenario.run.tenants", "-5"]),
])
def test_hostile_cases_damaged_run_manifest(world, tmp_path, how, needles):
    run = tmp_path / "run"
    shutil.copytree(world / "run", run)
    _damage_manifest(run, how)
    refused(run_cli("cases", str(run), "--out", str(tmp_path / "out"), "-q"), "run",
            *needles)
    assert not (tmp_path / "out" / "cases.jsonl").exists()


# ------------------------------------------------------------------------ check

VERDICTS = "file:{W}/cases/verdicts.jsonl"
CHECK_BAD = [
    ("cmd-missing-program", ("--sut", "cmd:/nonexistent/planshift-sut"),
     ["--sut", "/nonexistent/planshift-sut", "no such program"]),
    ("cmd-not-executable", ("--sut", "cmd:{W}/noexec.sh"),
     ["--sut", "noexec.sh", "not an executable file"]),
    ("cmd-unbalanced-quote", ("--sut", "cmd:python 'sut.py"), ["--sut", "No closing quotation"]),
    ("cmd-empty", ("--sut", "cmd:"), ["cmd:", "needs a command"]),
    ("http-no-host", ("--sut", "http://"), ["http://"]),
    ("http-port-out-of-range", ("--sut", "http://127.0.0.1:99999/x"), ["--sut", "99999"]),
    ("http-port-not-a-number", ("--sut", "http://127.0.0.1:abc/"), ["--sut", "abc"]),
    ("http-broken-ipv6", ("--sut", "http://[::1"), ["--sut", "IPv6"]),
    ("unknown-scheme", ("--sut", "ftp://x"), ["--sut", "ftp://x"]),
    ("file-missing", ("--sut", "file:{W}/nosuch.jsonl"), ["nosuch.jsonl"]),
    ("file-empty-path", ("--sut", "file:"), ["file:"]),
    ("file-a-folder", ("--sut", "file:{W}/notes"), ["notes"]),
    ("file-a-fifo", ("--sut", "file:{W}/fifo"), ["fifo", "not a regular file"]),
    ("no-sut", (), ["--sut"]),
    ("timeout-nan", ("--sut", VERDICTS, "--timeout", "nan"), ["--timeout"]),
    ("timeout-inf", ("--sut", VERDICTS, "--timeout", "inf"), ["--timeout"]),
    ("timeout-negative", ("--sut", VERDICTS, "--timeout", "-1"), ["--timeout"]),
    ("concurrency-zero", ("--sut", VERDICTS, "--concurrency", "0"), ["--concurrency"]),
    ("shrink-budget-negative", ("--sut", VERDICTS, "--shrink-budget", "-1"),
     ["--shrink-budget"]),
    ("fields-unknown", ("--sut", VERDICTS, "--fields", "nosuchfield"),
     ["--fields", "nosuchfield"]),
    ("fields-only-commas", ("--sut", VERDICTS, "--fields", ",,,"), ["--fields", "no field"]),
    ("junit-empty", ("--sut", VERDICTS, "--junit", ""), ["--junit", "empty"]),
    ("junit-in-proc", ("--sut", VERDICTS, "--junit", "/proc/planshift/x.xml"),
     ["--junit", "/proc/planshift"]),
    ("junit-a-folder", ("--sut", VERDICTS, "--junit", "{W}/notes"), ["--junit", "notes"]),
    ("junit-a-fifo", ("--sut", VERDICTS, "--junit", "{W}/fifo"), ["--junit", "fifo"]),
    ("junit-the-case-file", ("--sut", VERDICTS, "--junit", "{W}/c3.jsonl"),
     ["--junit", "c3.jsonl", "one of the inputs"]),
    ("junit-the-verdict-file", ("--sut", VERDICTS, "--junit", "{W}/cases/verdicts.jsonl"),
     ["--junit", "verdicts.jsonl", "one of the inputs"]),
    ("junit-a-user-file", ("--sut", VERDICTS, "--junit", "{W}/notes/todo.md"),
     ["--junit", "todo.md", "refusing"]),
    ("junit-over-the-summary", ("--sut", VERDICTS, "--junit", "{T}/out/summary.json"),
     ["--junit", "summary.json"]),
    ("junit-over-disagreements", ("--sut", VERDICTS, "--junit", "{T}/out/disagreements.jsonl"),
     ["--junit", "disagreements.jsonl"]),
    ("out-user-folder", ("--sut", VERDICTS, "--out", "{W}/notes"), ["--out", "notes"]),
    ("out-a-run", ("--sut", VERDICTS, "--out", "{W}/run"), ["--out", "run"]),
    ("out-cases-folder", ("--sut", VERDICTS, "--out", "{W}/cases"), ["--out", "cases"]),
    ("out-a-file", ("--sut", VERDICTS, "--out", "{W}/afile"), ["--out", "afile"]),
    ("out-the-case-file", ("--sut", VERDICTS, "--out", "{W}/c3.jsonl"), ["--out", "c3.jsonl"]),
    ("out-a-fifo", ("--sut", VERDICTS, "--out", "{W}/fifo"), ["--out", "fifo"]),
    ("out-in-proc", ("--sut", VERDICTS, "--out", "/proc/planshift/x"), ["--out", "/proc"]),
]


@pytest.mark.parametrize(("args", "needles"), [c[1:] for c in CHECK_BAD],
                         ids=[c[0] for c in CHECK_BAD])
def test_hostile_check_arguments(world, tmp_path, args, needles):
    before = snapshot(world)
    argv = expand(args, world, tmp_path)
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    refused(run_cli("check", str(world / "c3.jsonl"), *argv),
            *[n.format(W=world, T=tmp_path) for n in needles])
    assert snapshot(world) == before  # inputs, notes and runs are never written over


@pytest.mark.parametrize(("cases", "needles"), [
    ("{W}/nosuch.jsonl", ["nosuch.jsonl", "no such file"]),
    ("{W}/fifo", ["fifo", "not a regular file"]),
    ("/dev/null/x", ["/dev/null/x"]),
    (LONG, ["File name too long"]),
])
def test_hostile_check_case_inputs(world, tmp_path, cases, needles):
    refused(run_cli("check", cases.format(W=world), "--sut", VERDICTS.format(W=world),
                    "--out", str(tmp_path / "out")), *needles)


def test_hostile_check_skips_a_fifo_in_a_case_folder(world, tmp_path):
    """A FIFO named b.jsonl beside a.jsonl is not read (it would block forever); the
    three good cases of a.jsonl still get their verdicts."""
    result = run_subprocess("check", str(world / "fifodir"), "--sut",
                            VERDICTS.format(W=world), "--out", str(tmp_path / "out"),
                            timeout=60)
    refused(result, "3 cases: 3 agree", status=0)


@pytest.mark.parametrize(("content", "agree"), [
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", 0),  # RecursionError in json.loads
    (b"\xff\xfe garbage\n", 0),
    (b'{"case_id": "x", "n": ' + b"9" * 5000 + b"}\n", 0),  # beyond int-parsing limits
], ids=["nesting-too-deep", "not-utf8", "giant-integer"])
def test_hostile_check_verdict_file_lines(world, tmp_path, content, agree):
    """A hostile line in a file: SUT is the SUT's fault: each case is a SUT error (exit
    1, a finding), never an internal error."""
    (tmp_path / "verdicts.jsonl").write_bytes(content)
    result = refused(run_cli("check", str(world / "c3.jsonl"), "--sut",
                             f"file:{tmp_path / 'verdicts.jsonl'}", "--out",
                             str(tmp_path / "out")), status=1)
    assert f"3 cases: {agree} agree, 0 disagree, 3 SUT errors" in result.out


def test_hostile_check_junit_inside_a_new_out_folder_is_written(world, tmp_path):
    """--junit OUT/junit.xml with OUT not yet made is fine, and may be written again."""
    out = tmp_path / "out"
    for _ in range(2):
        refused(run_cli("check", str(world / "c3.jsonl"), "--sut", VERDICTS.format(W=world),
                        "--out", str(out), "--junit", str(out / "junit.xml")), status=0)
    assert b'<testsuite name="planshift check" tests="3"' in (out / "junit.xml").read_bytes()


# ------------------------------------------------------------------------ sweep

SWEEP = ("sweep", "baseline", *TINY, "--replications", "2", "--jobs", "1", "-q")
SWEEP_BAD = [
    ("vary-no-values", ("--vary", "capacity.workers="), ["--vary", "capacity.workers"]),
    ("vary-no-equals", ("--vary", "capacity.workers"), ["--vary", "capacity.workers"]),
    ("vary-no-key", ("--vary", "=1,2"), ["--vary", "=1,2"]),
    ("vary-unknown-key", ("--vary", "nosuch.key=1,2"), ["--vary", "nosuch"]),
    ("vary-text-values", ("--vary", "capacity.workers=a,b"), ["capacity.workers", "'a'"]),
    ("vary-empty-value", ("--vary", "capacity.workers=1,,2"), ["capacity.workers"]),
    ("vary-twice-listed", ("--vary", "capacity.workers=1,1"), ["listed twice"]),
    ("vary-below-minimum", ("--vary", "capacity.workers=-1,0"), ["capacity.workers", "-1"]),
    ("vary-nan-value", ("--vary", "capacity.workers=nan"), ["capacity.workers", "nan"]),
    ("vary-infinite-value", ("--vary", "capacity.workers=1e999"), ["capacity.workers", "inf"]),
    ("range-backwards", ("--vary", "capacity.workers=5:1:1"), ["5:1:1", "stop >= start"]),
    ("range-zero-step", ("--vary", "capacity.workers=1:5:0"), ["1:5:0", "step > 0"]),
    ("range-negative-step", ("--vary", "capacity.workers=1:5:-1"), ["1:5:-1"]),
    ("range-four-numbers", ("--vary", "capacity.workers=1:2:3:4"), ["1:2:3:4"]),
    ("range-nan-step", ("--vary", "capacity.workers=1:2:nan"), ["1:2:nan", "finite"]),
    ("range-infinite-stop", ("--vary", "capacity.workers=1:inf:1"), ["1:inf:1", "finite"]),
    ("range-million-values", ("--vary", "capacity.workers=1:1000000:1"), ["too many"]),
    ("grid-too-large", ("--vary", "capacity.workers=1:100:1", "--vary",
                        "demand.request_share=0.01:0.99:0.01", "--vary",
                        "run.tenants=1:10000:1"), ["--vary", "99,000,000 point(s)", "100,000"]),
    ("replications-billion", ("--vary", "capacity.workers=1", "--replications", "1000000000"),
     ["--replications", "1,000,000,000"]),
    ("replications-zero", ("--vary", "capacity.workers=1", "--replications", "0"),
     ["--replications"]),
    ("same-key-twice", ("--vary", "capacity.workers=1,2", "--vary", "capacity.workers=3"),
     ["--vary", "twice"]),
    ("peak-window-bogus", ("--vary", "capacity.workers=1", "--peak-window", "bogus"),
     ["--peak-window", "bogus"]),
    ("peak-window-zero", ("--vary", "capacity.workers=1", "--peak-window", "month-end:0"),
     ["--peak-window"]),
    ("confidence-one", ("--vary", "capacity.workers=1", "--confidence", "1"),
     ["--confidence"]),
    ("confidence-nan", ("--vary", "capacity.workers=1", "--confidence", "nan"),
     ["--confidence"]),
    ("max-tasks-zero", ("--vary", "capacity.workers=1", "--max-tasks", "0"), ["--max-tasks"]),
    ("max-tasks-negative", ("--vary", "capacity.workers=1", "--max-tasks", "-1"),
     ["--max-tasks"]),
    ("jobs-zero", ("--vary", "capacity.workers=1", "--jobs", "0"), ["--jobs"]),
    ("executor-bogus", ("--vary", "capacity.workers=1", "--executor", "bogus"),
     ["--executor", "bogus"]),
    ("executor-no-port", ("--vary", "capacity.workers=1", "--executor", "dask://h:notaport"),
     ["--executor", "dask://h:notaport"]),
    ("set-no-equals", ("--vary", "capacity.workers=1", "--set", "bad"), ["--set bad"]),
    ("seed-negative", ("--vary", "capacity.workers=1", "--seed", "-1"), ["--seed"]),
    ("tenants-zero", ("--vary", "capacity.workers=1", "--tenants", "0"), ["--tenants"]),
    ("out-user-folder", ("--vary", "capacity.workers=1", "--out", "{W}/notes"), ["notes"]),
    ("out-a-run", ("--vary", "capacity.workers=1", "--out", "{W}/run"), ["run"]),
    ("out-replications", ("--vary", "capacity.workers=1", "--out", "{W}/rep1"), ["rep1"]),
    ("out-a-file", ("--vary", "capacity.workers=1", "--out", "{W}/afile"), ["afile"]),
    ("out-a-fifo", ("--vary", "capacity.workers=1", "--out", "{W}/fifo"), ["fifo"]),
    ("out-in-proc", ("--vary", "capacity.workers=1", "--out", "/proc/planshift/sweep"),
     ["/proc/planshift/sweep", "cannot create"]),
]


@pytest.mark.parametrize(("args", "needles"), [c[1:] for c in SWEEP_BAD],
                         ids=[c[0] for c in SWEEP_BAD])
def test_hostile_sweep_arguments(world, tmp_path, monkeypatch, args, needles):
    import sim.batch.sweep

    monkeypatch.setattr(sim.batch.sweep, "run_tasks",
                        lambda *a, **k: pytest.fail("ran tasks before refusing"))
    before = snapshot(world)
    argv = expand(args, world, tmp_path)
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "sweep")]
    refused(run_cli(*SWEEP, *argv), *needles)
    assert snapshot(world) == before


@pytest.mark.parametrize("metric", ["../../../escaped", "/tmp/escaped", ".hidden", "",
                                    "a\\b"])
def test_hostile_sweep_metric_is_never_a_path(world, tmp_path, monkeypatch, metric):
    """--metric names a plot file DIR/plots/<metric>.png: a path is refused before any
    task runs, and nothing is written outside DIR."""
    import sim.batch.sweep

    monkeypatch.setattr(sim.batch.sweep, "run_tasks",
                        lambda *a, **k: pytest.fail("ran tasks before refusing"))
    refused(run_cli(*SWEEP, "--vary", "capacity.workers=1", "--metric", metric, "--out",
                    str(tmp_path / "a" / "b" / "sweep")), "--metric")
    assert not any(tmp_path.rglob("*.png"))
    assert not Path("/tmp/escaped.png").exists()


def test_hostile_sweep_unknown_metric_is_named(tmp_path):
    """An unknown --metric is only known once the results exist: the table is written,
    no empty plot is drawn for it, and the command exits 2 naming it."""
    out = tmp_path / "sweep"
    refused(run_cli(*SWEEP, "--vary", "capacity.workers=1", "--metric", "nosuch.metric",
                    "--out", str(out)), "--metric nosuch.metric", "no such metric")
    assert (out / "points.csv").is_file()
    assert not (out / "plots" / "nosuch.metric.png").exists()


def test_hostile_sweep_scenario_name_too_long(tmp_path):
    refused(run_cli("sweep", LONG, "--vary", "capacity.workers=1", "--out",
                    str(tmp_path / "s")), "File name too long")


# ---------------------------------------------------------------- plan-capacity

PLAN = ("plan-capacity", "baseline", *TINY, "--replications", "2", "--jobs", "1",
        "--max-workers", "2")
PLAN_BAD = [
    ("target-no-operator", ("--target", "peak.queue_wait.p95"), ["--target", "METRIC<=VALUE"]),
    ("target-no-metric", ("--target", "<=60"), ["--target", "<=60"]),
    ("target-text-value", ("--target", "peak.queue_wait.p95<=abc"), ["--target", "abc"]),
    ("target-nan", ("--target", "peak.queue_wait.p95<=nan"), ["--target", "nan"]),
    ("target-infinite", ("--target", "peak.queue_wait.p95<=inf"), ["--target", "inf"]),
    ("target-overflow", ("--target", "peak.queue_wait.p95<=1e999"), ["--target", "1e999"]),
    ("target-double-equals", ("--target", "peak.queue_wait.p95==60"), ["--target", "=="]),
    ("target-chained", ("--target", "peak.queue_wait.p95<=60<=70"), ["--target"]),
    ("target-empty", ("--target", ""), ["--target"]),
    ("target-unicode", ("--target", "ünï<=60"), ["--target", "ünï"]),
    ("replications-one", ("--target", TARGET, "--replications", "1"), ["--replications"]),
    ("replications-billion", ("--target", TARGET, "--replications", "1000000000"),
     ["--replications", "10,000"]),
    ("extra-negative", ("--target", TARGET, "--extra-replications", "-1"),
     ["--extra-replications"]),
    ("extra-billion", ("--target", TARGET, "--extra-replications", "1000000000"),
     ["--extra-replications", "10,000"]),
    ("min-workers-zero", ("--target", TARGET, "--min-workers", "0"), ["--min-workers"]),
    ("min-above-max", ("--target", TARGET, "--min-workers", "5"), ["--min-workers", "5"]),
    ("max-workers-billion", ("--target", TARGET, "--max-workers", "1000000000"),
     ["--max-workers", "capacity.workers", "100000"]),
    ("executor-empty-dask", ("--target", TARGET, "--executor", "dask://"), ["--executor"]),
    ("peak-window-negative", ("--target", TARGET, "--peak-window", "busiest:-1"),
     ["--peak-window"]),
]


@pytest.mark.parametrize(("args", "needles"), [c[1:] for c in PLAN_BAD],
                         ids=[c[0] for c in PLAN_BAD])
def test_hostile_plan_capacity_arguments(monkeypatch, args, needles):
    import sim.batch.capacity

    monkeypatch.setattr(sim.batch.capacity, "run_tasks",
                        lambda *a, **k: pytest.fail("ran tasks before refusing"))
    refused(run_cli(*PLAN, *args), *needles)


def test_hostile_plan_capacity_unknown_metric_names_it():
    """An unknown metric is only known after the first probe: exit 2 naming it, with
    examples (one probe of 2 tiny replications)."""
    refused(run_cli(*PLAN, "--max-workers", "1", "--target", "nosuch.metric<=60"),
            "--target", "nosuch.metric")


def test_hostile_plan_capacity_scenario_name_too_long():
    refused(run_cli("plan-capacity", LONG, "--target", TARGET), "File name too long")


# --------------------------------------------------------- compare-replications

def _damaged_set(world: Path, tmp: Path, how: str) -> Path:
    side = tmp / "set"
    shutil.copytree(world / "rep1", side)
    summary = side / "summary.json"
    if how == "truncated":
        summary.write_text("{")
    elif how == "a-list":
        summary.write_text("[]")
    elif how == "not-utf8":
        summary.write_bytes(b"\xff")
    elif how == "metric-an-int":
        summary.write_text(json.dumps({"metrics": {"a": 5}}))
    elif how == "marker-without-run":
        summary.write_text(json.dumps({"planshift_replications": True, "metrics": {}}))
    elif how == "removed":
        summary.unlink()
    return side


@pytest.mark.parametrize(("how", "needles"), [
    ("truncated", ["summary.json", "cannot read"]),
    ("a-list", ["summary.json", "not a planshift summary"]),
    ("not-utf8", ["summary.json", "cannot read"]),
    ("metric-an-int", ["summary.json", "damaged summary"]),
    ("marker-without-run", ["summary.json", "damaged summary"]),
    ("removed", ["set", "neither a run nor a replication set"]),
])
def test_hostile_compare_replications_damaged_summary(world, tmp_path, how, needles):
    side = _damaged_set(world, tmp_path, how)
    refused(run_cli("compare-replications", str(side), "--against", str(world / "rep2")),
            *needles)


@pytest.mark.parametrize(("how", "needles"), [
    ("manifest-truncated", ["manifest.json", "not valid JSON"]),
    ("records-removed", ["attempts", "record file missing"]),
])
def test_hostile_compare_replications_damaged_run_without_summary(world, tmp_path, how,
                                                                   needles):
    """Single runs without summary.json get their report built first; a damaged run is
    refused naming the damaged file, not an internal error."""
    runs = []
    for name in ("a", "b"):
        run = tmp_path / name
        shutil.copytree(world / "run", run)
        (run / "summary.json").unlink()
        runs.append(str(run))
    if how == "manifest-truncated":
        (tmp_path / "a" / "manifest.json").write_text("{")
    else:
        shutil.rmtree(tmp_path / "a" / "records")
        (tmp_path / "a" / "records").mkdir()
    refused(run_cli("compare-replications", *runs, "--against", str(world / "rep2")),
            *needles)


@pytest.mark.parametrize(("args", "needles"), [
    (("{W}/run", "--against", "{W}/rep2"), ["run", "no spread"]),
    (("{W}/notes", "--against", "{W}/rep2"), ["notes", "neither a run"]),
    (("{W}/nosuch", "--against", "{W}/rep2"), ["nosuch"]),
    (("{W}/afile", "--against", "{W}/rep2"), ["afile"]),
    (("{W}/fifo", "--against", "{W}/rep2"), ["fifo"]),
    ((LONG, "--against", "{W}/rep2"), ["File name too long"]),
    (("{W}/rep1", "{W}/rep2", "--against", "{W}/rep2"), ["replication set must be the only"]),
    (("{W}/rep1", "--against", "{W}/rep2", "--confidence", "1.5"), ["--confidence"]),
    (("{W}/rep1", "--against", "{W}/rep2", "--confidence", "nan"), ["--confidence"]),
    (("{W}/rep1", "--against", "{W}/rep2", "--min-effect", "nan"), ["--min-effect"]),
    (("{W}/rep1", "--against", "{W}/rep2", "--min-effect", "-1"), ["--min-effect"]),
    (("{W}/rep1", "--against", "{W}/rep2", "--metric", "nosuch*"), ["nosuch*"]),
    (("{W}/rep1", "--against", "{W}/rep2", "--metric", "["), ["no metric matches ["]),
    (("{W}/rep1",), ["--against"]),
], ids=["single-run", "user-folder", "missing", "a-file", "a-fifo", "long-name",
        "set-plus-run", "confidence-above-one", "confidence-nan", "min-effect-nan",
        "min-effect-negative", "metric-matches-nothing", "metric-bad-glob", "no-against"])
def test_hostile_compare_replications_arguments(world, tmp_path, args, needles):
    refused(run_cli("compare-replications", *expand(args, world, tmp_path)), *needles)


# ------------------------------------------------------------------ report --fx

FX_BAD = [
    ("toml-garbage", "fx.toml", b"garbage = = =", ["fx.toml", "Invalid value"]),
    ("rate-nan", "fx.toml", b'target = "USD"\n[rates]\nEUR = "nan"\n', ["rates.EUR", "nan"]),
    ("rate-infinite", "fx.toml", b'target = "USD"\n[rates]\nEUR = "inf"\n', ["rates.EUR"]),
    ("rate-zero", "fx.toml", b'target = "USD"\n[rates]\nEUR = "0"\n', ["rates.EUR", "> 0"]),
    ("rate-negative", "fx.toml", b'target = "USD"\n[rates]\nEUR = "-1.2"\n',
     ["rates.EUR", "> 0"]),
    ("rate-a-float", "fx.toml", b'target = "USD"\n[rates]\nEUR = 1.2\n',
     ["rates.EUR", "decimal string"]),
    ("rate-out-of-range", "fx.toml", b'target = "USD"\n[rates]\nEUR = "1e999999"\n',
     ["rates.EUR", "out of range"]),
    ("rate-absurd", "fx.json", b'{"target": "USD", "rates": {"EUR": "1' + b"0" * 29 + b'"}}',
     ["rates.EUR", "at most"]),
    ("rate-null", "fx.json", b'{"target": "USD", "rates": {"EUR": null}}', ["rates.EUR"]),
    ("rate-true", "fx.json", b'{"target": "USD", "rates": {"EUR": true}}', ["rates.EUR"]),
    ("unknown-currency", "fx.toml", b'target = "USD"\n[rates]\nXXX = "1.2"\n', ["rates.XXX"]),
    ("lower-case-currency", "fx.json", b'{"target": "USD", "rates": {"eur": "1"}}',
     ["rates.eur"]),
    ("unknown-target", "fx.toml", b'target = "QQQ"\n[rates]\nEUR = "1.2"\n',
     ["fx.toml.target", "QQQ"]),
    ("no-target", "fx.toml", b"", ["fx.toml.target"]),
    ("rates-a-list", "fx.json", b'{"target": "USD", "rates": []}', ["fx.json.rates"]),
    ("json-truncated", "fx.json", b'{"target": "USD", "rates": {"EUR": "1.08"',
     ["fx.json", "delimiter"]),
    ("json-a-list", "fx.json", b"[1, 2]", ["fx.json", "target"]),
    ("json-extra-key", "fx.json", b'{"target": "USD", "rates": {"EUR": "1"}, "x": 1}',
     ["fx.json.x", "unknown key"]),
    ("not-utf8", "fx.toml", b"\xff\xfe", ["fx.toml", "not UTF-8"]),
    ("missing-rate", "fx.json", b'{"target": "USD", "rates": {"EUR": "1.08"}}',
     ["fx.json", "no rate for"]),
]


@pytest.mark.parametrize(("name", "content", "needles"), [c[1:] for c in FX_BAD],
                         ids=[c[0] for c in FX_BAD])
def test_hostile_report_fx_tables(world, tmp_path, name, content, needles):
    """The run's amounts are in several currencies (baseline: local currency), so a table
    lacking one of them is refused too, naming the missing rates key."""
    (tmp_path / name).write_bytes(content)
    before = snapshot(world / "run")
    refused(run_cli("report", str(world / "run"), "--no-plots", "-q", "--fx",
                    str(tmp_path / name)), *needles)
    assert snapshot(world / "run") == before


@pytest.mark.parametrize(("fx", "needles"), [
    ("{W}/nosuch.toml", ["nosuch.toml", "cannot read"]),
    ("{W}/notes", ["notes", "cannot read"]),
    ("/dev/zero", ["/dev/zero", "not a regular file"]),
], ids=["missing", "a-folder", "a-device"])
def test_hostile_report_fx_paths(world, fx, needles):
    refused(run_cli("report", str(world / "run"), "--no-plots", "-q", "--fx",
                    fx.format(W=world)), *needles)


def test_hostile_report_fx_fifo_does_not_block(world):
    result = run_subprocess("report", str(world / "run"), "--no-plots", "-q", "--fx",
                            str(world / "fifo"), timeout=60)
    refused(result, "fifo", "not a regular file")


# ---------------------------------------------- run --replications/--jobs/--executor

RUN = ("run", "baseline", *TINY, "--no-plots", "-q")
RUN_BAD = [
    ("replications-zero", ("--replications", "0"), ["--replications"]),
    ("replications-one", ("--replications", "1"), ["--replications"]),
    ("replications-negative", ("--replications", "-3"), ["--replications"]),
    ("replications-billion", ("--replications", "1000000000"),
     ["--replications", "1,000,000,000"]),
    ("replications-text", ("--replications", "many"), ["--replications"]),
    ("jobs-zero", ("--replications", "2", "--jobs", "0"), ["--jobs"]),
    ("executor-bogus", ("--replications", "2", "--executor", "bogus"), ["--executor"]),
    ("executor-broken-ipv6", ("--replications", "2", "--executor", "dask://[::1"),
     ["--executor", "dask://[::1"]),
    ("out-user-folder", ("--replications", "2", "--out", "{W}/notes"), ["notes"]),
    ("out-a-file", ("--replications", "2", "--out", "{W}/afile"), ["afile"]),
    ("out-a-single-run", ("--replications", "2", "--out", "{W}/run"), ["run"]),
    ("out-existing-set", ("--replications", "2", "--out", "{W}/rep1"), ["rep1", "--force"]),
    ("out-in-proc", ("--replications", "2", "--out", "/proc/planshift/reps"),
     ["/proc/planshift/reps", "cannot create"]),
    ("max-memory-text", ("--max-memory", "abc"), ["--max-memory", "abc"]),
    ("max-memory-overflow", ("--max-memory", "1e999"), ["--max-memory"]),
]


@pytest.mark.parametrize(("args", "needles"), [c[1:] for c in RUN_BAD],
                         ids=[c[0] for c in RUN_BAD])
def test_hostile_run_replication_arguments(world, tmp_path, monkeypatch, args, needles):
    import sim.batch.replicate

    monkeypatch.setattr(sim.batch.replicate, "run_tasks",
                        lambda *a, **k: pytest.fail("ran tasks before refusing"))
    before = snapshot(world)
    argv = expand(args, world, tmp_path)
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "reps")]
    refused(run_cli(*RUN, *argv), *needles)
    assert snapshot(world) == before


# ------------------------------------------------------- targets, params, misc

@pytest.mark.parametrize(("args", "needles"), [
    (("targets", ""), ["unknown plan ''"]),
    (("targets", "business_basic"), ["'business_basic'", "BUSINESS_BASIC"]),
    (("targets", "BUSINESS_BASIC\nx"), ["unknown plan"]),
    (("targets", "\udcff"), ["unknown plan"]),
    (("targets", "--", "-x"), ["'-x'"]),
    (("targets", LONG), ["unknown plan"]),
    (("targets", "BUSINESS_BASIC", "extra"), ["unrecognized arguments: extra"]),
    (("targets",), ["plan"]),
    (("params", "--markdown", "extra"), ["unrecognized arguments: extra"]),
    (("params", "--bogus"), ["--bogus"]),
    (("nosuchcommand",), ["invalid choice", "nosuchcommand"]),
    (("",), ["invalid choice"]),
], ids=["targets-empty", "targets-lower-case", "targets-newline", "targets-surrogate",
        "targets-dash", "targets-long", "targets-extra", "targets-none", "params-extra",
        "params-bogus-flag", "unknown-command", "empty-command"])
def test_hostile_small_commands(args, needles):
    refused(run_cli(*args), *needles)


# ----------------- long names (find_scenario and read_manifest catch ENAMETOOLONG)


def test_hostile_run_scenario_name_too_long(tmp_path):
    refused(run_cli("run", LONG, "--out", str(tmp_path / "r")), "File name too long")


@pytest.mark.parametrize("command", ["report", "compare"])
def test_hostile_run_directory_name_too_long(world, command):
    args = [LONG] if command == "report" else [LONG, str(world / "run")]
    refused(run_cli(command, *args), "File name too long")
