"""compare with statistics (issue 10, part 3): Welch's t-test per metric, Holm-corrected.

Two base seeds of the same scenario at 5 replications each are not flagged on any
metric (a 5% relative tolerance flags dozens); baseline against ``capacity.workers=1``
is flagged on utilisation, which a quarter of the workers must quadruple.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from sim.batch.compare import CompareError, compare_replicated
from sim.batch.replicate import run_replications
from sim.cli.common import find_scenario
from sim.fleet.scenario import load_scenario

SMALL = ["run.tenants=1500", "run.horizon_days=60"]


def _replicate(tmp_path_factory, name: str, *overrides: str) -> str:
    scenario = load_scenario(find_scenario("baseline"), [*SMALL, *overrides])
    out = tmp_path_factory.mktemp("reps") / name
    run_replications(scenario, out, 5, jobs=2, report=False)
    return str(out)


@pytest.fixture(scope="module")
def seed_1(tmp_path_factory) -> str:
    return _replicate(tmp_path_factory, "seed-1", "run.seed=1")


@pytest.fixture(scope="module")
def seed_2(tmp_path_factory) -> str:
    return _replicate(tmp_path_factory, "seed-2", "run.seed=2")


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory) -> str:
    return _replicate(tmp_path_factory, "one-worker", "run.seed=1", "capacity.workers=1")


def test_two_seeds_of_the_same_scenario_are_not_flagged(seed_1, seed_2):
    comparison = compare_replicated([seed_1], [seed_2])
    tested = [t for t in comparison.tests if t.p is not None]
    assert len(tested) > 80  # most of the ~150 metrics are tested
    assert comparison.flagged == []
    # ... although a bare 5% relative tolerance would flag many of them (issue 10).
    assert sum(1 for t in tested if (t.relative or 0) > 0.05) > 10


def test_baseline_against_one_worker_is_flagged(seed_1, one_worker):
    comparison = compare_replicated([seed_1], [one_worker])
    flagged = {t.name for t in comparison.flagged}
    assert "capacity.utilisation.time_mean" in flagged
    assert "capacity.workers" in flagged  # 4 against 1 with no spread: an exact difference
    assert comparison.same_seeds  # same base seed: the same replication seeds


def test_welch_p_value_matches_scipy(seed_1, one_worker):
    comparison = compare_replicated([seed_1], [one_worker], metrics=["switch.mean"])
    (test,) = comparison.tests
    left, right = (json.loads(Path(side, "summary.json").read_text())["metrics"]["switch.mean"]
                   ["values"] for side in (seed_1, one_worker))
    reference = scipy_stats.ttest_ind(right, left, equal_var=False)
    assert test.t == pytest.approx(reference.statistic, rel=1e-9)
    assert test.p == pytest.approx(reference.pvalue, rel=1e-9)
    assert test.p_holm == test.p  # a family of one


def test_replication_sets_are_recognised(seed_1, tmp_path):
    from sim.batch.compare import is_replication_set

    assert is_replication_set(seed_1)
    assert not is_replication_set(f"{seed_1}/rep-000")  # a single run
    assert not is_replication_set(tmp_path)


def test_single_runs_per_side_are_refused(seed_1, seed_2):
    with pytest.raises(CompareError, match="no spread"):
        compare_replicated([f"{seed_1}/rep-000"], [f"{seed_2}/rep-000"])


def test_groups_of_single_runs_are_a_side(seed_1, seed_2):
    left = [f"{seed_1}/rep-{r:03d}" for r in range(5)]
    grouped = compare_replicated(left, [seed_2], metrics=["queue_wait.mean", "requests"])
    whole = compare_replicated([seed_1], [seed_2], metrics=["queue_wait.mean", "requests"])
    for a, b in zip(grouped.tests, whole.tests, strict=True):
        assert (a.name, a.n_a) == (b.name, 5)
        assert (a.p is None and b.p is None) or math.isclose(a.p, b.p)
