"""Capacity search: the smallest worker count whose confidence bound meets a target.

``plan-capacity SCENARIO --target 'peak.queue_wait.p95<=60'`` answers a capacity
planner's question with evidence. A point (a worker count) meets ``METRIC<=X`` when the
upper end of its two-sided Student-t interval at the stated confidence is <= X (for
``>=`` the lower end must be >= X), so "met" means "met with that confidence". Waits
fall as workers are added (a monotone parameter), so the answer is found by bisection
between ``--min-workers`` (default 1) and ``--max-workers``: the top is tried first (if
even it fails, there is no answer), then the middle of the open range, until the
smallest meeting count is pinned. A point whose interval straddles the target is near
the boundary: it gets more replications (R more at a time, up to ``extra_replications``
more in all) before it is judged. Replication seeds are the same at every point
(common random numbers, :func:`sim.batch.replicate.replication_seeds`), so a point's
first R replications are the ones a sweep with R replications would run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from .executor import executor_scope, run_tasks
from .replicate import MAX_REPLICATIONS, aggregate_results, replication_seeds
from .stats import aggregate
from .tasks import Task, TaskResult, run_task

__all__ = ["ALIASES", "CapacityError", "CapacityPlan", "Probe", "Target", "parse_target",
           "plan_capacity"]

# Friendly names (as the issue writes them) for summary.json metric names.
ALIASES = {
    "queue_wait_p95_minutes": "queue_wait.p95",
    "queue_wait_p99_minutes": "queue_wait.p99",
    "queue_wait_mean_minutes": "queue_wait.mean",
    "peak_queue_wait_p95_minutes": "peak.queue_wait.p95",
    "peak_queue_wait_p99_minutes": "peak.queue_wait.p99",
    "sla_breach_share": "sla.breach_share",
    "peak_sla_breach_share": "peak.sla.breach_share",
}
_TARGET = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


class CapacityError(ValueError):
    """A bad target or search range (exit status 2)."""


@dataclass(frozen=True)
class Target:
    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}"

    def met(self, metric: dict[str, Any]) -> bool:
        """Whether the interval's far end is on the right side of the threshold."""
        bound = metric["ci_high"] if self.op in ("<=", "<") else metric["ci_low"]
        if bound is None:
            return False
        bound = float(bound)
        return {"<=": bound <= self.threshold, "<": bound < self.threshold,
                ">=": bound >= self.threshold, ">": bound > self.threshold}[self.op]

    def straddles(self, metric: dict[str, Any]) -> bool:
        """Whether the interval contains the threshold (more replications may decide)."""
        if metric["ci_low"] is None:
            return False
        return float(metric["ci_low"]) <= self.threshold <= float(metric["ci_high"])


def parse_target(text: str) -> Target:
    """``METRIC<=X`` (or <, >=, >); METRIC a summary.json name or an ALIASES name."""
    match = _TARGET.match(text)
    if match is None:
        raise CapacityError(f"--target {text!r}: expected METRIC<=VALUE, e.g. "
                            "'peak.queue_wait.p95<=60'")
    name, op, value = match.groups()
    try:
        threshold = float(value)
    except ValueError:
        raise CapacityError(f"--target {text!r}: {value!r} is not a number") from None
    if not math.isfinite(threshold):
        raise CapacityError(f"--target {text!r}: {value!r} is not a finite number")
    return Target(ALIASES.get(name, name), op, threshold)


@dataclass
class Probe:
    workers: int
    replications: int
    metric: dict[str, Any]
    met: bool


@dataclass
class CapacityPlan:
    target: Target
    answer: int | None
    probes: list[Probe] = field(default_factory=list)
    confidence: float = 0.95


class _Search:
    """Runs and caches replications per worker count; judges points against the target."""

    def __init__(self, raw: dict[str, Any], seed: int, target: Target, pool: Executor,
                 tenants: int | None, confidence: float, peak_window: str,
                 on_probe: Callable[[Probe], None] | None) -> None:
        self.raw, self.seed, self.target, self.pool = raw, seed, target, pool
        self.tenants, self.confidence, self.peak_window = tenants, confidence, peak_window
        self.on_probe = on_probe
        self.results: dict[int, list[TaskResult]] = {}
        self.probes: dict[int, Probe] = {}

    def _run(self, workers: int, replications: int) -> list[TaskResult]:
        have = self.results.setdefault(workers, [])
        seeds = replication_seeds(self.seed, replications)
        raw = {**self.raw, "capacity": {**self.raw.get("capacity", {}), "workers": workers}}
        tasks = [Task((workers, r), raw, seeds[r], self.tenants, None, "parquet",
                      self.peak_window) for r in range(len(have), replications)]
        have += run_tasks(self.pool, run_task, tasks, key=lambda task: task.key)
        return have

    def _metric(self, results: list[TaskResult]) -> dict[str, Any]:
        name = self.target.metric
        if name not in results[0]["metrics"]:
            known = sorted(aggregate_results(results[:1]))
            close = [n for n in known if n.split(".")[0] == name.split(".")[0]][:8]
            examples = ", ".join(close or known[:8])
            raise CapacityError(f"--target: no metric {name!r} (e.g. {examples}; see "
                                "summary.json)")
        unit = results[0]["metrics"][name]["unit"]
        return aggregate([r["metrics"].get(name, {}).get("value") for r in results], unit,
                         self.confidence)

    def probe(self, workers: int, replications: int, extra: int) -> Probe:
        results = self._run(workers, replications)
        metric = self._metric(results)
        while self.target.straddles(metric) and len(results) < replications + extra:
            results = self._run(workers, min(len(results) + replications,
                                             replications + extra))
            metric = self._metric(results)
        probe = Probe(workers, len(results), metric, self.target.met(metric))
        self.probes[workers] = probe
        if self.on_probe is not None:
            self.on_probe(probe)
        return probe


def _check_workers(scenario: Any, workers: int) -> None:
    """--max-workers must be a capacity.workers the scenario accepts (before any run)."""
    from ..fleet.scenario import ScenarioError, scenario_from_dict, scenario_to_dict

    raw = scenario_to_dict(scenario)
    raw["capacity"] = {**raw.get("capacity", {}), "workers": workers}
    try:
        scenario_from_dict(raw)
    except ScenarioError as error:
        raise CapacityError(f"--max-workers {workers}: {error}") from None


def plan_capacity(scenario: Any, target: Target, replications: int = 5, *,
                  confidence: float = 0.95, max_workers: int = 64, min_workers: int = 1,
                  extra_replications: int | None = None, jobs: int | None = None,
                  executor: Executor | None = None, executor_spec: str | None = None,
                  tenants: int | None = None, peak_window: str = "month-end:3",
                  on_probe: Callable[[Probe], None] | None = None) -> CapacityPlan:
    """Bisect over capacity.workers for the smallest count meeting `target`."""
    from ..fleet.scenario import scenario_to_dict

    if replications < 2:
        raise CapacityError("--replications must be >= 2 (an interval needs two values)")
    if not 1 <= min_workers <= max_workers:
        raise CapacityError(f"need 1 <= --min-workers ({min_workers}) <= --max-workers "
                            f"({max_workers})")
    extra = replications if extra_replications is None else extra_replications
    if extra < 0:
        raise CapacityError("--extra-replications must be >= 0")
    if replications + extra > MAX_REPLICATIONS:
        raise CapacityError(f"--replications + --extra-replications must be at most "
                            f"{MAX_REPLICATIONS:,}, got {replications + extra:,}")
    _check_workers(scenario, max_workers)
    with executor_scope(executor, executor_spec, jobs) as pool:
        search = _Search(scenario_to_dict(scenario), scenario.run.seed, target, pool,
                         tenants, confidence, peak_window, on_probe)
        answer: int | None = None
        if search.probe(max_workers, replications, extra).met:
            low, high = min_workers - 1, max_workers  # low fails (or is below the range)
            while high - low > 1:
                middle = (low + high) // 2
                if search.probe(middle, replications, extra).met:
                    high = middle
                else:
                    low = middle
            answer = high
    probes = [search.probes[w] for w in sorted(search.probes)]
    return CapacityPlan(target, answer, probes, confidence)
