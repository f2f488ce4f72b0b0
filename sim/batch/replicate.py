"""Replications: one scenario at R seeds derived from its base seed, and their aggregate.

Replication r runs at ``seed_r = SeedSequence(base).spawn(R)[r].generate_state(1,
uint64)[0] >> 1`` (a non-negative 63-bit integer, within ``run.seed``'s range). Spawned
children depend only on their index, so the first R seeds are the same whatever R is:
adding replications keeps the earlier ones, and every sweep point uses the same seeds
(common random numbers make the points comparable). Each replication's records and its
summary.json go under ``OUT/rep-NNN/``; ``OUT/summary.json`` holds every metric's mean,
standard deviation, Student-t interval and R (:func:`sim.batch.stats.aggregate`), and
``OUT/report.md``/``report.html`` show the intervals in tables and plots.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .executor import executor_scope, run_tasks
from .stats import aggregate
from .tasks import Task, TaskResult, run_task

__all__ = ["MARKER", "SEED_DERIVATION", "ReplicationError", "ReplicationSet",
           "aggregate_results", "replication_seeds", "run_replications"]

MARKER = "planshift_replications"
SEED_DERIVATION = ("seed_r = int(numpy.random.SeedSequence(base_seed).spawn(R)[r]"
                   ".generate_state(1, dtype=numpy.uint64)[0] >> 1)")


MAX_REPLICATIONS = 10_000  # seeds of one replication set (or one sweep point)


class ReplicationError(ValueError):
    """Bad replication input or an output directory that may not be used (exit 2)."""


@dataclass
class ReplicationSet:
    directory: Path
    seeds: list[int]
    results: list[TaskResult]
    summary: dict[str, Any]


def replication_seeds(base_seed: int, replications: int) -> list[int]:
    """The seeds of replications 0..R-1 of `base_seed` (see the module docstring)."""
    if replications < 1:
        raise ReplicationError(f"--replications must be >= 1, got {replications}")
    if replications > MAX_REPLICATIONS:
        raise ReplicationError(f"--replications must be at most {MAX_REPLICATIONS:,}, "
                               f"got {replications:,}")
    children = np.random.SeedSequence(base_seed).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
            for child in children]


def aggregate_results(results: Sequence[TaskResult], confidence: float = 0.95
                      ) -> dict[str, dict[str, Any]]:
    """Every metric of `results` (in their order) aggregated across them.

    Metric names are taken in first-seen order; a replication without a metric (a
    blocker never met, say) contributes None and is not counted in ``n``.
    """
    names: dict[str, str] = {}
    for result in results:
        for name, metric in result["metrics"].items():
            names.setdefault(name, metric["unit"])
    return {name: aggregate([r["metrics"].get(name, {}).get("value") for r in results],
                            unit, confidence)
            for name, unit in names.items()}


def _prepare(out: Path, force: bool) -> None:
    """OUT must be absent, empty, or (with `force`) an earlier replication set."""
    import json

    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ReplicationError(f"{out}: exists and is not a directory; choose another --out")
    if not out.exists() or not any(out.iterdir()):
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ReplicationError(f"{out}: cannot create ({error.strerror or error}); "
                                   "choose another --out") from None
        return
    try:
        marked = json.loads((out / "summary.json").read_text(encoding="utf-8")).get(MARKER)
    except (OSError, ValueError, AttributeError):
        marked = False
    if marked is not True:
        raise ReplicationError(f"{out}: directory exists and does not hold planshift "
                               "replications; refusing to write into it, choose another --out")
    if not force:
        raise ReplicationError(f"{out}: already holds replications; pass --force to replace "
                               "them, or choose another --out")
    shutil.rmtree(out)
    out.mkdir(parents=True)


def run_replications(scenario: Any, out_dir: str | Path, replications: int,
                     jobs: int | None = None, executor: Executor | None = None, *,
                     executor_spec: str | None = None, tenants: int | None = None,
                     record_format: str = "parquet", confidence: float = 0.95,
                     peak_window: str = "month-end:3", force: bool = False,
                     report: bool = True) -> ReplicationSet:
    """Run `scenario` (a Scenario) at R derived seeds into OUT/rep-NNN and aggregate.

    Work goes through `executor` if given (the caller owns it), else through one made
    from `executor_spec` and `jobs` (:func:`sim.batch.executor.make_executor`).
    """
    from ..fleet.records import write_json_atomic
    from ..fleet.scenario import scenario_to_dict

    out = Path(out_dir).absolute()
    seeds = replication_seeds(scenario.run.seed, replications)
    _prepare(out, force)
    raw = scenario_to_dict(scenario)
    tasks = [Task((index,), raw, seed, tenants, str(out / f"rep-{index:03d}"),
                  record_format, peak_window)
             for index, seed in enumerate(seeds)]
    with executor_scope(executor, executor_spec, jobs) as pool:
        results = run_tasks(pool, run_task, tasks, key=lambda task: task.key)
    summary = {
        "format": 1,
        MARKER: True,
        "run": {"scenario": scenario.meta.name,
                "question": scenario.meta.question,
                "base_seed": scenario.run.seed,
                "tenants": tenants if tenants is not None else scenario.run.tenants,
                "currency": scenario.run.currency,
                "rounding": scenario.billing.rounding,
                "record_format": record_format,
                "replications": replications,
                "seeds": seeds,
                "seed_derivation": SEED_DERIVATION,
                "confidence": confidence,
                "interval": "Student t: mean ± t(1-α/2, n-1)·sd/√n (scipy.stats.t)",
                "peak_window": peak_window,
                "directories": [f"rep-{index:03d}" for index in range(replications)]},
        "metrics": aggregate_results(results, confidence),
    }
    write_json_atomic(out / "summary.json", summary)
    if report:
        from .render import render_replications

        render_replications(summary, out)
    return ReplicationSet(out, seeds, results, summary)
