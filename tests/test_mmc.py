"""Queueing validation (issue 10, part 7): the change queue against queueing theory.

Three checks, from the smallest moving part up:

1. :func:`erlang_c` (written here, the reference) against values known by hand.
2. The replication estimator (per-replication mean wait, Student-t interval from
   :func:`sim.batch.stats.aggregate`, seeds from :func:`replication_seeds`) on a tiny
   standalone SimPy M/M/c queue: the Erlang C mean wait lies in the interval for
   c = 1, 4, 8 at utilisation 0.8-0.9.
3. The fleet itself (``mmc.toml``: flat Poisson arrivals, no blockers, exponential
   ``capacity.switch`` with a mean of 10 minutes): its mean queue wait matches Erlang C
   (M/M/c) for c = 1, 4, 8; with the switch set deterministic (a 10-minute
   ``deterministic`` distribution) and one worker the queue is M/D/1 and matches
   Pollaczek-Khinchine.
"""

from __future__ import annotations

import math
import random
import statistics

import pytest
import simpy

from sim.batch.replicate import replication_seeds, run_replications
from sim.batch.stats import aggregate
from sim.cli.common import find_scenario
from sim.fleet.distributions import Exponential
from sim.fleet.scenario import load_scenario
from sim.report.records import load_run

SERVICE_MINUTES = 10.0


def erlang_c(servers: int, offered: float) -> float:
    """P(an arrival waits) in M/M/c with offered load a = lambda/mu < c (Erlang C)."""
    rho = offered / servers
    top = offered ** servers / math.factorial(servers) / (1.0 - rho)
    return top / (sum(offered ** k / math.factorial(k) for k in range(servers)) + top)


def erlang_c_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """The M/M/c mean queue wait Wq = C(c, a) / (c mu - lambda)."""
    offered = arrival_rate / service_rate
    return erlang_c(servers, offered) / (servers * service_rate - arrival_rate)


def test_erlang_c_against_hand_values():
    assert erlang_c(1, 0.8) == pytest.approx(0.8)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # (1/2 * 2) / (1 + 1 + 1)
    # M/M/1: Wq = rho / (mu - lambda) = 0.8 / (0.1 - 0.08) = 40 minutes.
    assert erlang_c_wait(1, 0.08, 0.1) == pytest.approx(40.0)


def simpy_mmc_mean_wait(servers: int, arrival_rate: float, service_rate: float,
                        customers: int, warmup: int, seed: int) -> float:
    """Mean queue wait of customers after `warmup` in a standalone SimPy M/M/c queue."""
    rng = random.Random(seed)
    env = simpy.Environment()
    workers = simpy.Resource(env, capacity=servers)
    waits: list[float] = []

    def customer(index: int):
        arrived = env.now
        with workers.request() as claim:
            yield claim
            if index >= warmup:
                waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(service_rate))

    def arrivals():
        for index in range(customers):
            yield env.timeout(rng.expovariate(arrival_rate))
            env.process(customer(index))

    env.process(arrivals())
    env.run()
    return statistics.fmean(waits)


@pytest.mark.parametrize(("servers", "utilisation"), [(1, 0.8), (4, 0.85), (8, 0.9)])
def test_replication_interval_covers_erlang_c_on_simpy_mmc(servers, utilisation):
    service_rate = 1.0 / SERVICE_MINUTES
    arrival_rate = utilisation * servers * service_rate
    expected = erlang_c_wait(servers, arrival_rate, service_rate)
    seeds = replication_seeds(2026 + servers, 12)
    waits = [simpy_mmc_mean_wait(servers, arrival_rate, service_rate, 6000 * servers // 2
                                 + 6000, 1000, seed) for seed in seeds]
    interval = aggregate(waits, "minutes", 0.95)
    assert interval["ci_low"] <= expected <= interval["ci_high"], (expected, interval)
    assert interval["half_width"] < 0.25 * expected  # narrow enough to mean something


def _pollaczek_khinchine_md1(arrival_rate: float, service: float) -> float:
    """M/D/1 mean queue wait: rho * D / (2 (1 - rho))."""
    rho = arrival_rate * service
    return rho * service / (2.0 * (1.0 - rho))


def test_fleet_queue_matches_pollaczek_khinchine_md1(tmp_path):
    scenario = load_scenario(find_scenario("mmc"), [
        "run.tenants=4800", 'capacity.switch={ dist = "deterministic", value = 10.0 }'])
    run_replications(scenario, tmp_path / "md1", 8, jobs=2, report=False)
    gaps, utilisations = [], []
    horizon = scenario.run.horizon_days * 1440.0
    for index in range(8):
        changes = load_run(tmp_path / "md1" / f"rep-{index:03d}").tables["changes"]
        queued = changes[changes["order_at"].notna()]
        switches = queued["switch_min"].dropna()  # deterministic: exactly 10
        assert switches.min() == switches.max() == SERVICE_MINUTES
        arrival_rate = len(queued) / horizon  # measured: blockers thin the stream
        utilisations.append(arrival_rate * SERVICE_MINUTES)
        waits = queued["queue_wait_min"].dropna()
        gaps.append(float(waits.mean()) - _pollaczek_khinchine_md1(arrival_rate,
                                                                   SERVICE_MINUTES))
    assert 0.75 <= statistics.fmean(utilisations) <= 0.92
    interval = aggregate(gaps, "minutes", 0.95)
    assert interval["ci_low"] <= 0.0 <= interval["ci_high"], interval


@pytest.mark.parametrize(("servers", "tenants", "days"), [(1, 2400, 15), (4, 3250, 5),
                                                         (8, 6500, 5)])
def test_fleet_queue_matches_erlang_c(tmp_path, servers, tenants, days):
    # About 0.75 of the tenants' requests reach the queue: utilisation about 0.85. The
    # horizons are many relaxation times of the queue (about a day for c = 1), so the
    # empty start shifts the mean wait far less than the interval's half-width.
    scenario = load_scenario(find_scenario("mmc"), [
        f"run.tenants={tenants}", f"run.horizon_days={days}", f"capacity.workers={servers}"])
    assert scenario.capacity.switch == Exponential(SERVICE_MINUTES)  # mmc.toml: M/M/c
    run_replications(scenario, tmp_path / "mmc", 8, jobs=2, report=False)
    horizon = scenario.run.horizon_days * 1440.0
    gaps, expected_waits, utilisations = [], [], []
    for index in range(8):
        changes = load_run(tmp_path / "mmc" / f"rep-{index:03d}").tables["changes"]
        queued = changes[changes["order_at"].notna()]
        arrival_rate = len(queued) / horizon  # measured: the manual path thins the stream
        utilisations.append(arrival_rate * SERVICE_MINUTES / servers)
        expected = erlang_c_wait(servers, arrival_rate, 1.0 / SERVICE_MINUTES)
        expected_waits.append(expected)
        gaps.append(float(queued["queue_wait_min"].dropna().mean()) - expected)
    assert 0.8 <= statistics.fmean(utilisations) <= 0.9
    interval = aggregate(gaps, "minutes", 0.95)
    assert interval["ci_low"] <= 0.0 <= interval["ci_high"], interval
    assert interval["half_width"] < 0.5 * statistics.fmean(expected_waits)  # informative
