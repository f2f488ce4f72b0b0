"""Command line of sweep, plan-capacity and compare-replications (issue 10, part 8)."""

from __future__ import annotations

import pytest

from sim.cli import main

TINY = ["--tenants", "300", "--set", "run.horizon_days=35", "--jobs", "1"]


def test_sweep_runs_and_writes_the_table(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(["sweep", "month-end-surge", "--vary", "capacity.workers=1,2",
                 "--replications", "2", "--out", str(out), *TINY])
    assert code == 0
    assert "2 point(s) x 2 replication(s)" in capsys.readouterr().out
    for name in ("sweep.parquet", "sweep.csv", "points.csv", "sweep.json"):
        assert (out / name).is_file()
    assert len(list((out / "tasks").glob("p*-r*.json"))) == 4


def test_interrupted_sweep_says_how_to_resume(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", "month-end-surge", "--vary", "capacity.workers=1,2", "--replications",
            "2", "--out", str(out), "-q", *TINY]
    assert main([*args, "--max-tasks", "1"]) == 1
    assert "run the same command again to resume" in capsys.readouterr().err
    assert main(args) == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["sweep", "baseline", "--vary", "capacity.workers"], "--vary"),
    (["sweep", "baseline", "--vary", "capacity.wrokers=1,2"], "capacity.wrokers"),
    (["sweep", "baseline", "--vary", "capacity.workers=1", "--confidence", "1.5"],
     "--confidence"),
    (["sweep", "baseline", "--vary", "capacity.workers=1", "--executor", "dask://x"],
     "HOST:PORT"),
    (["sweep", "baseline", "--vary", "capacity.workers=1", "--peak-window", "weekly"],
     "--peak-window"),
    (["plan-capacity", "baseline", "--target", "queue_wait.p95 = 60"], "--target"),
    (["plan-capacity", "baseline", "--target", "queue_wait.p95<=60", "--min-workers", "9",
      "--max-workers", "4"], "--min-workers"),
    (["plan-capacity", "baseline", "--target", "x<=1", "--replications", "1"],
     "--replications"),
])
def test_bad_input_exits_2_with_one_line(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "o")] if argv[0] == "sweep" else argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_compare_replications_needs_spread(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", "month-end-surge", "--out", str(run), "-q", "--tenants", "200",
                 "--set", "run.horizon_days=35"]) == 0
    assert main(["compare-replications", str(run), "--against", str(run)]) == 2
    assert "no spread" in capsys.readouterr().err
