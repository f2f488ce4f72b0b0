"""Sweeps (issue 10, part 4): the tidy table does not depend on how the sweep was run.

A sweep of 4 points x 5 replications gives the same table bytes with one job and with
two, and an interrupted sweep, resumed, gives the same bytes as an uninterrupted one
(interrupted two ways: a task limit, and task files deleted after the fact).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import statistics
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats as scipy_stats

from sim.batch.sweep import SweepError, parse_vary, run_sweep
from sim.cli.common import find_scenario
from sim.fleet.scenario import load_scenario

SMALL = ["run.tenants=600", "run.horizon_days=35"]
VARY = "capacity.workers=1,2,3,4"
OUTPUTS = ("sweep.parquet", "sweep.csv", "points.csv")


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(find_scenario("month-end-surge"), SMALL)


@pytest.fixture(scope="module")
def serial(scenario, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "serial"
    result = run_sweep(scenario, out, [parse_vary(VARY)], 5, jobs=1)
    assert result.complete and result.tasks_run == 20
    return out


def _same_outputs(left: Path, right: Path) -> None:
    for name in OUTPUTS:
        assert (left / name).read_bytes() == (right / name).read_bytes(), name


def test_jobs_1_and_jobs_2_give_the_same_table_bytes(scenario, serial, tmp_path):
    result = run_sweep(scenario, tmp_path / "parallel", [parse_vary(VARY)], 5, jobs=2)
    assert result.complete
    _same_outputs(serial, tmp_path / "parallel")


def test_interrupted_sweep_resumes_to_the_same_table(scenario, serial, tmp_path):
    out = tmp_path / "resumed"
    first = run_sweep(scenario, out, [parse_vary(VARY)], 5, jobs=2, max_tasks=7)
    assert not first.complete and first.tasks_run == 7
    assert len(list((out / "tasks").glob("*.json"))) == 7
    assert not (out / "sweep.parquet").exists()  # no table from a partial sweep
    second = run_sweep(scenario, out, [parse_vary(VARY)], 5, jobs=2)
    assert second.complete and second.tasks_run == 13  # the 7 finished ones are skipped
    _same_outputs(serial, out)


def test_deleted_task_files_are_rerun(scenario, serial, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(serial, out)
    for name in ("p000-r001.json", "p003-r004.json"):
        (out / "tasks" / name).unlink()
    (out / "sweep.parquet").unlink()
    result = run_sweep(scenario, out, [parse_vary(VARY)], 5, jobs=1)
    assert result.tasks_run == 2
    _same_outputs(serial, out)


def test_table_is_tidy_and_matches_the_task_files(serial):
    table = pq.read_table(serial / "sweep.parquet").to_pandas()
    assert list(table.columns) == ["point", "capacity.workers", "replication", "seed",
                                   "metric", "unit", "value", "text"]
    # One row per point x replication x metric (a blocker never met has no metric).
    for (point, replication), rows in table.groupby(["point", "replication"]):
        stored = json.loads((serial / "tasks" / f"p{point:03d}-r{replication:03d}.json")
                            .read_text())
        assert list(rows["metric"]) == list(stored["metrics"])
    assert len(table.groupby(["point", "replication"])) == 20
    assert sorted(table["capacity.workers"].unique()) == [1, 2, 3, 4]
    # Every point ran the same five seeds (common random numbers).
    seeds = table.groupby("point")["seed"].apply(lambda s: tuple(sorted(set(s))))
    assert seeds.nunique() == 1 and len(seeds.iloc[0]) == 5
    task = json.loads((serial / "tasks" / "p002-r003.json").read_text())
    row = table[(table["point"] == 2) & (table["replication"] == 3)
                & (table["metric"] == "queue_wait.p95")]
    assert row["value"].item() == task["metrics"]["queue_wait.p95"]["value"]


def test_points_csv_intervals_are_student_t(serial):
    table = pq.read_table(serial / "sweep.parquet").to_pandas()
    values = table[(table["point"] == 0) & (table["metric"] == "queue_wait.mean")]["value"]
    mean, sd = statistics.mean(values), statistics.stdev(values)
    half = scipy_stats.t.ppf(0.975, 4) * sd / math.sqrt(5)
    with (serial / "points.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle)
                   if r["point"] == "0" and r["metric"] == "queue_wait.mean")
    assert float(row["mean"]) == pytest.approx(mean, rel=1e-12)
    assert float(row["ci_low"]) == pytest.approx(mean - half, rel=1e-9, abs=1e-9)
    assert float(row["ci_high"]) == pytest.approx(mean + half, rel=1e-9, abs=1e-9)
    # Direction (STYLE 12): more workers, shorter waits at the month-end peak.
    waits = table[table["metric"] == "peak.queue_wait.p95"].groupby("capacity.workers")
    means = waits["value"].mean().to_numpy()
    assert means[0] > means[1] >= means[3]
    assert (serial / "plots" / "peak.queue_wait.p95.png").stat().st_size > 1000


def test_a_different_configuration_is_refused(scenario, serial):
    with pytest.raises(SweepError, match="another configuration"):
        run_sweep(scenario, serial, [parse_vary("capacity.workers=1,2")], 5, jobs=1)


@pytest.mark.parametrize(("text", "expected"), [
    ("capacity.workers=1,2,4,8", (1, 2, 4, 8)),
    ("demand.request_share=0.3:0.6:0.1", (0.3, 0.4, 0.5, 0.6)),  # Decimal steps: no drift
    ("capacity.workers=2:8:2", (2, 4, 6, 8)),
])
def test_parse_vary(text, expected):
    vary = parse_vary(text)
    assert vary.values == expected
    assert all(type(v) is type(e) for v, e in zip(vary.values, expected, strict=True))


@pytest.mark.parametrize("text", ["capacity.workers", "=1,2", "capacity.workers=1,1",
                                  "capacity.workers=4:1:1", "capacity.workers=a:b:c"])
def test_bad_vary_is_refused(text):
    with pytest.raises(SweepError, match="--vary"):
        parse_vary(text)


def test_a_point_outside_a_key_range_is_refused_before_running(scenario, tmp_path):
    with pytest.raises(SweepError, match=r"capacity\.workers"):
        run_sweep(scenario, tmp_path / "bad", [parse_vary("capacity.workers=0,1")], 2, jobs=1)
    assert not (tmp_path / "bad").exists()


def test_replication_seeds_are_spawned_from_the_base_seed(serial):
    table = pq.read_table(serial / "sweep.parquet").to_pandas()
    by_rep = table[table["point"] == 0].groupby("replication")["seed"].first()
    children = np.random.SeedSequence(7).spawn(5)  # month-end-surge has run.seed = 7
    expected = [int(c.generate_state(1, dtype=np.uint64)[0]) // 2 for c in children]
    assert list(by_rep) == expected
