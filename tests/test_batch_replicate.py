"""Replications (issue 10, part 2): derived seeds, rep-NNN directories, the aggregate.

The aggregate summary.json is checked against the replications' own summary.json files:
means by ``statistics``, money means by Decimal arithmetic by hand.
"""

from __future__ import annotations

import json
import statistics
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from sim.batch.replicate import (
    SEED_DERIVATION,
    ReplicationError,
    replication_seeds,
    run_replications,
)
from sim.cli.common import find_scenario
from sim.fleet.scenario import load_scenario

SMALL = ["run.tenants=500", "run.horizon_days=35"]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(find_scenario("baseline"), SMALL)


@pytest.fixture(scope="module")
def replicated(scenario, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reps") / "baseline"
    run_replications(scenario, out, 3, jobs=1)
    return out


def test_seeds_are_spawned_and_prefix_stable():
    children = np.random.SeedSequence(1).spawn(4)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0]) // 2 for c in children]
    assert replication_seeds(1, 4) == expected
    assert replication_seeds(1, 2) == expected[:2]  # more replications keep the first ones
    assert all(0 <= seed < 2 ** 63 for seed in expected)
    with pytest.raises(ReplicationError):
        replication_seeds(1, 0)


def test_each_replication_has_its_records_and_summary(replicated):
    summary = json.loads((replicated / "summary.json").read_text())
    assert summary["run"]["seeds"] == replication_seeds(1, 3)
    assert summary["run"]["seed_derivation"] == SEED_DERIVATION
    for index, seed in enumerate(summary["run"]["seeds"]):
        rep = replicated / f"rep-{index:03d}"
        assert json.loads((rep / "manifest.json").read_text())["seed"] == seed
        assert json.loads((rep / "summary.json").read_text())["run"]["seed"] == seed
    for name in ("report.md", "report.html", "plots/intervals.png", "tables/metrics.csv"):
        assert (replicated / name).is_file(), name


def test_aggregate_matches_the_replications(replicated):
    summary = json.loads((replicated / "summary.json").read_text())["metrics"]
    reps = [json.loads((replicated / f"rep-{i:03d}" / "summary.json").read_text())["metrics"]
            for i in range(3)]
    waits = [rep["lead_time.mean"]["value"] for rep in reps]
    assert summary["lead_time.mean"]["mean"] == pytest.approx(statistics.mean(waits))
    assert summary["lead_time.mean"]["sd"] == pytest.approx(statistics.stdev(waits))
    assert summary["lead_time.mean"]["n"] == 3
    money = [name for name, metric in summary.items()
             if isinstance(metric["mean"], str) and name.startswith("finance.credits.total")]
    assert money, "a credits total metric"
    for name in money:
        texts = [rep[name]["value"] for rep in reps]
        exact = sum(Decimal(t) for t in texts) / 3
        assert Decimal(summary[name]["mean"]) == exact.quantize(Decimal("0.0001"))
        assert summary[name]["values"] == texts


def test_jobs_do_not_change_the_aggregate(scenario, replicated, tmp_path):
    run_replications(scenario, tmp_path / "two", 3, jobs=2)
    assert ((tmp_path / "two" / "summary.json").read_bytes()
            == (replicated / "summary.json").read_bytes())


def test_output_directory_is_protected(scenario, tmp_path):
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine")
    with pytest.raises(ReplicationError, match="does not hold planshift replications"):
        run_replications(scenario, foreign, 2, jobs=1)
    assert (foreign / "todo.txt").read_text() == "mine"


def test_existing_replications_need_force(scenario, replicated):
    with pytest.raises(ReplicationError, match="--force"):
        run_replications(scenario, replicated, 3, jobs=1)
