"""plan-capacity (issue 10, part 5): bisection finds what a brute-force sweep finds.

On month-end-surge (small fleet, short horizon), the smallest worker count whose 95%
upper confidence bound of the month-end p95 queue wait is at most the target is
computed twice: by ``plan_capacity`` (bisection) and, independently here, from a sweep
over 1..8 workers with the same replications (mean and Student-t bound recomputed with
``statistics`` and ``scipy.stats.t``).
"""

from __future__ import annotations

import math
import statistics

import pyarrow.parquet as pq
import pytest
from scipy import stats as scipy_stats

from sim.batch.capacity import CapacityError, Target, parse_target, plan_capacity
from sim.batch.sweep import parse_vary, run_sweep
from sim.cli.common import find_scenario
from sim.fleet.scenario import load_scenario

SMALL = ["run.tenants=600", "run.horizon_days=35"]
REPLICATIONS = 4
TARGET = "peak.queue_wait.p95<=30"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(find_scenario("month-end-surge"), SMALL)


def test_bisection_agrees_with_a_brute_force_sweep(scenario, tmp_path):
    plan = plan_capacity(scenario, parse_target(TARGET), REPLICATIONS, max_workers=8,
                         extra_replications=0, jobs=2)
    run_sweep(scenario, tmp_path / "brute", [parse_vary("capacity.workers=1:8:1")],
              REPLICATIONS, jobs=2)
    table = pq.read_table(tmp_path / "brute" / "sweep.parquet").to_pandas()
    waits = table[table["metric"] == "peak.queue_wait.p95"]
    t = scipy_stats.t.ppf(0.975, REPLICATIONS - 1)
    meeting = []
    for workers, group in waits.groupby("capacity.workers"):
        values = list(group["value"])
        upper = statistics.mean(values) + t * statistics.stdev(values) / math.sqrt(len(values))
        if upper <= 30:
            meeting.append(workers)
    assert meeting, "the target should be reachable within 8 workers"
    assert plan.answer == min(meeting)
    assert 1 < plan.answer < 8  # a real search, not an edge of the range
    tried = {probe.workers for probe in plan.probes}
    assert len(tried) < 8 and 8 in tried  # bisection: fewer probes than the brute force


def test_target_parsing_and_bounds():
    assert parse_target("queue_wait_p95_minutes<=60") == Target("queue_wait.p95", "<=", 60.0)
    target = parse_target("outcome.automatic.share >= 0.5")
    assert target.met({"ci_low": 0.51, "ci_high": 0.6})
    assert not target.met({"ci_low": 0.49, "ci_high": 0.6})  # the lower bound must meet it
    upper = parse_target("queue_wait.p95<=60")
    assert upper.met({"ci_low": 10.0, "ci_high": 60.0})
    assert not upper.met({"ci_low": 10.0, "ci_high": 60.5})
    assert upper.straddles({"ci_low": 50.0, "ci_high": 70.0})
    with pytest.raises(CapacityError, match="--target"):
        parse_target("queue_wait.p95 == 60")


def test_unknown_target_metric_names_the_metric(scenario):
    with pytest.raises(CapacityError, match=r"no metric 'queue_wait\.p96'"):
        plan_capacity(scenario, parse_target("queue_wait.p96<=60"), 2, max_workers=2, jobs=1)


def _fake_task(task):
    """A stand-in for a simulation: wait falls as 120/workers, plus seeded noise +-15."""
    workers = task.scenario["capacity"]["workers"]
    noise = (task.seed % 997) / 33.0 - 15.0
    return {"key": list(task.key), "seed": task.seed, "labels": {},
            "metrics": {"queue_wait.p95": {"value": 120 / workers + noise,
                                           "unit": "minutes"}}}


def test_straddling_points_get_more_replications(scenario, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import sim.batch.capacity as capacity
    from sim.batch.replicate import replication_seeds

    monkeypatch.setattr(capacity, "run_task", _fake_task)
    target = parse_target("queue_wait.p95<=35")
    with ThreadPoolExecutor(2) as pool:
        plan = plan_capacity(scenario, target, 3, max_workers=16, extra_replications=6,
                             executor=pool)
    t = {n: scipy_stats.t.ppf(0.975, n - 1) for n in range(2, 10)}

    def upper(workers: int, n: int) -> float:  # the same noise, recomputed here
        values = [120 / workers + (seed % 997) / 33.0 - 15.0
                  for seed in replication_seeds(scenario.run.seed, n)]
        return statistics.mean(values) + t[n] * statistics.stdev(values) / math.sqrt(n)

    for probe in plan.probes:
        n = probe.replications
        assert n in (3, 6, 9)
        assert probe.metric["ci_high"] == pytest.approx(upper(probe.workers, n))
        assert probe.met == (upper(probe.workers, n) <= 35)
        if n > 3:  # extended only because the smaller interval straddled 35
            assert probe.metric["ci_low"] is not None
    assert {probe.replications for probe in plan.probes} == {3, 6, 9}  # extended twice
    answer = plan.answer
    assert answer is not None and plan.probes[-1].workers == 16
    judged = {probe.workers: probe for probe in plan.probes}
    assert judged[answer].met
    assert answer == 1 or (answer - 1 in judged and not judged[answer - 1].met)
